// The stack of layers being served: filters (outermost first) over one
// plugin.  Runs the lifecycle in nbdkit's order and opens a connection's
// chain of contexts through every filter.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace nbdkit::server {

// Names of every built-in plugin and filter, sorted.
std::vector<std::string> registered_plugins();
std::vector<std::string> registered_filters();

// A plugin that is not built in: a C plugin's shared object.  What
// --dump-plugin and --help say about it comes from here.
class ExternalPlugin : public Plugin {
 public:
  virtual const std::string& name() const = 0;
  virtual const std::string& path() const = 0;
  // The thread model the plugin was built with, before its .thread_model.
  virtual ThreadModel max_thread_model() const = 0;
  virtual int api_version() const = 0;
  virtual uint64_t struct_size() const = 0;
  virtual bool errno_is_preserved() const = 0;
  // What --help prints after "plugin: ": the name (and long name), the
  // file and the description, each line ending in a newline.
  virtual std::string help_heading() const = 0;
  // The has_CALLBACK=1 lines of --dump-plugin.
  virtual void dump_callbacks(std::ostream& out) const = 0;
};

// Finds a plugin outside the binary: `name` is a path (it contains a '/')
// or a short name looked up in the plugin directory.  Returns null when
// there is no such plugin; throws nbdkit::Error when it exists but cannot
// be loaded.
using ExternalPluginLoader = std::unique_ptr<ExternalPlugin> (*)(const std::string& name);
// Installed at start-up by the C plugin support linked into the server.
void set_external_plugin_loader(ExternalPluginLoader loader);

class Backend {
 public:
  // Throws nbdkit::Error naming the plugin or filter that does not exist.
  Backend(const std::string& plugin_name, const std::vector<std::string>& filter_names);
  ~Backend();

  const std::string& plugin_name() const { return plugin_name_; }
  const std::vector<std::string>& filter_names() const { return filter_names_; }
  Plugin& plugin() { return *plugin_; }
  const Plugin& plugin() const { return *plugin_; }
  const std::vector<std::unique_ptr<Filter>>& filters() const { return filters_; }

  void load();
  // Offers the key to each filter, outermost first, then to the plugin;
  // a filter may consume it or pass on other keys.
  void config(std::string_view key, std::string_view value);
  void config_complete();
  void get_ready();
  void after_fork();
  // Every layer's cleanup then unload; safe to call more than once.
  void cleanup_and_unload();

  // The minimum over every layer.
  ThreadModel thread_model() const;
  // True when every layer's data calls are nonblocking.
  bool data_calls_are_nonblocking() const;

  // Throws nbdkit::Error when a layer refuses the client.
  void preconnect(bool readonly);
  std::unique_ptr<Context> open(bool readonly, std::string_view exportname, bool is_tls);
  std::vector<ExportInfo> list_exports(bool readonly, bool is_tls);
  std::string default_export(bool readonly, bool is_tls);

  // The `--dump-plugin` text for the plugin and each filter.
  void dump_plugin(std::ostream& out) const;
  // The `--help` text of each filter (outermost first), then the plugin's.
  std::string config_help() const;
  // The `--version` lines after nbdkit's own: "NAME VERSION" for each
  // filter (outermost first), then the plugin.
  std::string versions() const;

 private:
  std::string plugin_name_;
  std::vector<std::string> filter_names_;
  std::unique_ptr<Plugin> plugin_;
  const ExternalPlugin* external_ = nullptr;  // plugin_, when loaded from a file
  std::vector<std::unique_ptr<Filter>> filters_;
  // The calls that pass down the stack, from filter `layer` (the plugin
  // when layer == filters_.size()).
  void config_from(size_t layer, std::string_view key, std::string_view value);
  void preconnect_from(size_t layer, bool readonly);
  std::unique_ptr<Context> open_from(size_t layer, bool readonly, std::string_view exportname,
                                    bool is_tls);
  std::vector<ExportInfo> list_exports_from(size_t layer, bool readonly, bool is_tls);
  std::string default_export_from(size_t layer, bool readonly, bool is_tls);
  static void run_step(const std::string& layer_name, Layer& layer, const char* step,
                       void (Layer::*call)());
  void plugin_then_filters(const char* step, void (Layer::*call)());

  bool loaded_ = false;
  bool unloaded_ = false;
};

}  // namespace nbdkit::server
