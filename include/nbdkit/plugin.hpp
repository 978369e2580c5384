// The public API for writing plugins and filters.
//
// A plugin is a class derived from nbdkit::Plugin (global lifecycle and
// configuration) whose open() returns an nbdkit::Context (one per client
// connection, carrying the capability and data calls).  A filter derives
// from nbdkit::Filter; its open() receives a function that opens the layer
// below and usually returns a FilterContext that forwards what it does not
// change.  The server does the rest: the wire protocol, sockets, threads,
// and emulation of what a layer does not provide (FUA via flush, zero via
// write, cache via read).
//
// Error conventions, chosen so that nbdkit's C ABI can be adapted onto this:
//  * control-path calls (config, open, get_size, can_*, ...) throw
//    nbdkit::Error, whose message is logged and whose errno may reach the
//    client;
//  * data-path calls (pread, pwrite, flush, trim, zero, extents, cache)
//    return 0 on success or a positive errno value; they may log detail
//    with nbdkit::error() first.
#pragma once

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nbdkit {

// Ordered from most to least restrictive; the server uses the minimum
// over the plugin and every filter.
enum class ThreadModel : int {
  serialize_connections = 0,   // one connection at a time
  serialize_all_requests = 1,  // one request at a time across connections
  serialize_requests = 2,      // one request at a time per connection
  parallel = 3,                // anything goes
};

const char* to_string(ThreadModel model);

enum class FuaSupport { none = 0, emulate = 1, native = 2 };
enum class CacheSupport { none = 0, emulate = 1, native = 2 };

// Flags passed to data calls.
namespace flags {
inline constexpr uint32_t fua = 1u << 0;        // write/trim/zero: persist before returning
inline constexpr uint32_t may_trim = 1u << 1;   // zero: the range may be deallocated
inline constexpr uint32_t req_one = 1u << 2;    // extents: one extent is enough
inline constexpr uint32_t fast_zero = 1u << 3;  // zero: fail with ENOTSUP unless fast
}  // namespace flags

// Extent types as in NBD base:allocation.
namespace extent {
inline constexpr uint32_t data = 0;
inline constexpr uint32_t hole = 1u << 0;
inline constexpr uint32_t zero = 1u << 1;
}  // namespace extent

struct BlockSize {
  uint32_t minimum = 1;
  uint32_t preferred = 4096;
  uint32_t maximum = 0xffffffff;
};

struct Extent {
  uint64_t offset;
  uint64_t length;
  uint32_t type;
};

// Collects the extents a layer reports for [start, end).  add() may be given
// ranges that start before `start` or run past `end`: they are clipped.
// Extents must be added in increasing, contiguous order; adjacent extents of
// the same type are merged.
class ExtentList {
 public:
  ExtentList(uint64_t start, uint64_t end) : start_(start), end_(end) {}

  // Returns 0, or EINVAL for an out-of-order or non-contiguous extent.
  int add(uint64_t offset, uint64_t length, uint32_t type);

  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  // Offset just past the last extent added (start() if none).
  uint64_t next_offset() const;
  // True when extents cover everything up to end().
  bool complete() const { return next_offset() >= end_; }
  const std::vector<Extent>& extents() const { return extents_; }
  void clear() { extents_.clear(); }

 private:
  uint64_t start_, end_;
  std::vector<Extent> extents_;
};

struct ExportInfo {
  std::string name;
  std::string description;
};

// Thrown from control-path calls.  `err` is the errno value sent to a
// client when the failure happens while one is connected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int err = EINVAL)
      : std::runtime_error(message), errno_value(err) {}
  int errno_value;
};

// One per client connection (per layer).  Destroying it is close().
class Context {
 public:
  virtual ~Context() = default;

  virtual uint64_t get_size() = 0;
  virtual std::optional<BlockSize> block_size() { return std::nullopt; }
  virtual std::string export_description() { return {}; }

  virtual bool can_write() { return false; }
  virtual bool can_flush() { return false; }
  virtual bool is_rotational() { return false; }
  virtual bool can_trim() { return false; }
  // false: the server emulates zeroing with pwrite when writable.
  virtual bool can_zero() { return false; }
  virtual bool can_fast_zero() { return false; }
  // false: the server reports the whole disk as data.
  virtual bool can_extents() { return false; }
  // none: the server emulates FUA with flush when can_flush().
  virtual FuaSupport can_fua() { return can_flush() ? FuaSupport::emulate : FuaSupport::none; }
  virtual bool can_multi_conn() { return false; }
  virtual CacheSupport can_cache() { return CacheSupport::none; }

  // Data path: return 0 or a positive errno value.  The server has already
  // checked that the range lies within get_size() and that the call is
  // allowed by the capabilities above.
  virtual int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) = 0;
  virtual int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags);
  virtual int flush(uint32_t flags);
  virtual int trim(uint32_t count, uint64_t offset, uint32_t flags);
  virtual int zero(uint32_t count, uint64_t offset, uint32_t flags);
  virtual int extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out);
  virtual int cache(uint32_t count, uint64_t offset, uint32_t flags);
};

// Lifecycle shared by plugins and filters, in the order the server calls it:
// load, config*, config_complete, get_ready, (fork), after_fork,
// then per connection preconnect/open/close, and at exit cleanup, unload.
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string version() const { return {}; }
  // Text printed by `nbdkit PLUGIN --help`, one "key=value  description" per line.
  virtual std::string config_help() const { return {}; }
  virtual ThreadModel thread_model() const { return ThreadModel::parallel; }
  // Extra `key=value` lines for --dump-plugin.
  virtual void dump_plugin(std::ostream&) const {}

  virtual void load() {}
  virtual void config_complete() {}
  virtual void get_ready() {}
  virtual void after_fork() {}
  // Called for every new connection before open(); throw to refuse it.
  virtual void preconnect(bool /*readonly*/) {}
  virtual void cleanup() {}
  virtual void unload() {}

  // A hint, not part of nbdkit's model: data calls never block on I/O (they
  // only compute or touch memory), so the server may run them on the
  // connection's own thread and batch replies instead of handing them to
  // worker threads.
  virtual bool data_calls_are_nonblocking() const { return false; }
};

class Plugin : public Layer {
 public:
  // A bare `VALUE` on the command line is given to config() under this key.
  virtual const char* magic_config_key() const { return nullptr; }
  // Throw nbdkit::Error for an unknown key or a bad value.
  virtual void config(std::string_view key, std::string_view value);

  virtual std::vector<ExportInfo> list_exports(bool /*readonly*/, bool /*is_tls*/) {
    return {ExportInfo{}};
  }
  virtual std::string default_export(bool /*readonly*/, bool /*is_tls*/) { return {}; }

  virtual std::unique_ptr<Context> open(bool readonly, std::string_view exportname,
                                        bool is_tls) = 0;
};

// Opens the layer below a filter, possibly with other arguments.
using OpenNext =
    std::function<std::unique_ptr<Context>(bool readonly, std::string_view exportname)>;

class Filter : public Layer {
 public:
  // Return true if the key belongs to this filter; false passes it on
  // towards the plugin.  Throw nbdkit::Error for a bad value.
  virtual bool config(std::string_view /*key*/, std::string_view /*value*/) { return false; }

  virtual std::unique_ptr<Context> open(const OpenNext& next, bool readonly,
                                        std::string_view exportname, bool /*is_tls*/) {
    return next(readonly, exportname);
  }
};

// Forwards every call to the layer below; filters override what they change.
class FilterContext : public Context {
 public:
  explicit FilterContext(std::unique_ptr<Context> next) : next_(std::move(next)) {}

  uint64_t get_size() override { return next_->get_size(); }
  std::optional<BlockSize> block_size() override { return next_->block_size(); }
  std::string export_description() override { return next_->export_description(); }
  bool can_write() override { return next_->can_write(); }
  bool can_flush() override { return next_->can_flush(); }
  bool is_rotational() override { return next_->is_rotational(); }
  bool can_trim() override { return next_->can_trim(); }
  bool can_zero() override { return next_->can_zero(); }
  bool can_fast_zero() override { return next_->can_fast_zero(); }
  bool can_extents() override { return next_->can_extents(); }
  FuaSupport can_fua() override { return next_->can_fua(); }
  bool can_multi_conn() override { return next_->can_multi_conn(); }
  CacheSupport can_cache() override { return next_->can_cache(); }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->pread(buf, count, offset, f);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->pwrite(buf, count, offset, f);
  }
  int flush(uint32_t f) override { return next_->flush(f); }
  int trim(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->trim(count, offset, f);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->zero(count, offset, f);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t f, ExtentList& out) override {
    return next_->extents(count, offset, f, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->cache(count, offset, f);
  }

 protected:
  Context& next() { return *next_; }

 private:
  std::unique_ptr<Context> next_;
};

// ---- Services the server provides to plugins and filters ----

// Messages: debug() prints only with -v; error() goes to the --log target.
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void verror(const char* fmt, va_list args);

// Value of `-D LAYER.FLAG=N`, or 0 when not given.
int debug_flag(std::string_view layer, std::string_view flag);

// nbdkit's parsers; they throw nbdkit::Error naming `what` on bad input.
// Sizes: decimal with an optional b/k/m/g/t/p/e (powers of 1024) or s (512).
uint64_t parse_size(std::string_view what, std::string_view text);
bool parse_bool(std::string_view what, std::string_view text);
// Delays: seconds with an optional fraction and s/ms/us/ns suffix; result in ns.
uint64_t parse_delay(std::string_view what, std::string_view text);
int64_t parse_int(std::string_view what, std::string_view text);

// Relative to the directory nbdkit was started in (the server may chdir).
std::string absolute_path(std::string_view path);

// Ask the server to stop accepting connections and exit once current
// clients are gone (graceful), with the given exit status.
void shutdown(int exit_status = 0);
bool shutdown_requested();

namespace detail {
using PluginFactory = std::unique_ptr<Plugin> (*)();
using FilterFactory = std::unique_ptr<Filter> (*)();
struct PluginRegistrar {
  PluginRegistrar(const char* name, PluginFactory make);
};
struct FilterRegistrar {
  FilterRegistrar(const char* name, FilterFactory make);
};
}  // namespace detail

}  // namespace nbdkit

// Register a built-in plugin or filter under its command-line name.
#define NBDKIT_REGISTER_PLUGIN(NAME, CLASS)                                    \
  static const ::nbdkit::detail::PluginRegistrar nbdkit_plugin_registrar_{     \
      NAME, []() -> std::unique_ptr<::nbdkit::Plugin> { return std::make_unique<CLASS>(); }}
#define NBDKIT_REGISTER_FILTER(NAME, CLASS)                                    \
  static const ::nbdkit::detail::FilterRegistrar nbdkit_filter_registrar_{     \
      NAME, []() -> std::unique_ptr<::nbdkit::Filter> { return std::make_unique<CLASS>(); }}
