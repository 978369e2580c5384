// What the C plugin wrapper shares with the nbdkit_* functions it exports:
// error capture, the errno a plugin chose, and the objects behind the
// opaque struct nbdkit_extents and struct nbdkit_exports.
#pragma once

#include <string>
#include <vector>

#include <nbdkit/plugin.hpp>

// The C ABI's opaque types, defined here so that the wrapper can fill them.
struct nbdkit_extents {
  explicit nbdkit_extents(nbdkit::ExtentList& target) : list(&target) {}
  nbdkit_extents(uint64_t start, uint64_t end) : owned(start, end), list(&owned) {}
  nbdkit::ExtentList owned{0, 0};
  nbdkit::ExtentList* list;
};

struct nbdkit_exports {
  std::vector<nbdkit::ExportInfo> list;
  // nbdkit_use_default_export() was called: the default export, named
  // once the plugin's default_export is known, ends the list (as nbdkit
  // lists it).
  bool use_default = false;
};

namespace nbdkit::cplugin {

// Collects the nbdkit_error() messages of one control-path call (config,
// open, can_*, ...) on this thread, so that a failing call becomes one
// nbdkit::Error carrying the plugin's own message instead of a message
// printed twice.  Messages of a call that succeeds are printed as usual.
class ErrorCapture {
 public:
  ErrorCapture();
  ~ErrorCapture();
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

  // Throws nbdkit::Error with the plugin's last message (the ones before it
  // are printed), or "`what` failed" when it gave none.  `err` is the errno
  // value for a client: the plugin's nbdkit_set_error(), else EIO.
  [[noreturn]] void fail(const std::string& what);

 private:
  std::vector<std::string> messages_;
  ErrorCapture* outer_;
  friend void capture_or_print(std::string message);
};

// Runs `call` (a C callback) with its messages captured; when
// `failed(result)` the call becomes nbdkit::Error (see fail()).
template <typename Call, typename Failed>
auto checked_call(const std::string& what, Call&& call, Failed&& failed) {
  ErrorCapture capture;
  auto result = call();
  if (failed(result)) capture.fail(what);
  return result;
}

inline bool minus_one(int r) { return r == -1; }

// nbdkit_verror's back end: into the innermost capture, else printed.
void capture_or_print(std::string message);

// nbdkit_set_error()'s value for the calling thread, reset by the call.
int take_set_error();
void clear_set_error();

}  // namespace nbdkit::cplugin
