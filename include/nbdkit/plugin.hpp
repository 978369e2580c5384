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
//
// The API is split by concern: context.hpp (types, Context, Layer),
// services.hpp (what the server offers every layer), filter.hpp (Filter,
// FilterContext) and this file (Plugin).  Including this file gives all of
// them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/context.hpp>
#include <nbdkit/filter.hpp>
#include <nbdkit/services.hpp>

namespace nbdkit {

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

namespace detail {
using PluginFactory = std::unique_ptr<Plugin> (*)();
struct PluginRegistrar {
  PluginRegistrar(const char* name, PluginFactory make);
};
}  // namespace detail

}  // namespace nbdkit

// Register a built-in plugin under its command-line name.
#define NBDKIT_REGISTER_PLUGIN(NAME, CLASS)                                    \
  static const ::nbdkit::detail::PluginRegistrar nbdkit_plugin_registrar_{     \
      NAME, []() -> std::unique_ptr<::nbdkit::Plugin> { return std::make_unique<CLASS>(); }}
