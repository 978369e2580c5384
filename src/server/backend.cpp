// The registry of built-in layers and the stack being served.
//
// Call order follows nbdkit: the plugin loads first and filters load from
// the innermost outwards; config and config_complete run outermost first;
// get_ready and after_fork run in the plugin first, then each filter from
// the innermost outwards; cleanup runs outermost first; unload runs in the
// plugin first, then the filters from the innermost outwards.
#include "backend.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "current_connection.hpp"
#include "log.hpp"
#include "trace.hpp"
#include "version.hpp"

namespace nbdkit {

namespace {

// Function-local statics: registrars run during the static initialisation
// of other translation units, in no particular order.
std::map<std::string, detail::PluginFactory>& plugin_factories() {
  static std::map<std::string, detail::PluginFactory> factories;
  return factories;
}
std::map<std::string, detail::FilterFactory>& filter_factories() {
  static std::map<std::string, detail::FilterFactory> factories;
  return factories;
}

template <typename Factory>
void register_layer(std::map<std::string, Factory>& registry, const char* kind, const char* name,
                    Factory make) {
  if (!registry.emplace(name, make).second) {
    // Two layers under one name is a build mistake; there is no sensible
    // way to go on, and exceptions cannot leave static initialisation.
    std::fprintf(stderr, "nbdkit: built-in %s '%s' is registered twice\n", kind, name);
    std::abort();
  }
}

template <typename Factory>
std::vector<std::string> names_of(const std::map<std::string, Factory>& registry) {
  std::vector<std::string> names;
  for (const auto& entry : registry) names.push_back(entry.first);
  return names;  // std::map keeps them sorted
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) {
    if (!text.empty()) text += ", ";
    text += name;
  }
  return text.empty() ? "none" : text;
}

}  // namespace

detail::PluginRegistrar::PluginRegistrar(const char* name, PluginFactory make) {
  register_layer(plugin_factories(), "plugin", name, make);
}

detail::FilterRegistrar::FilterRegistrar(const char* name, FilterFactory make) {
  register_layer(filter_factories(), "filter", name, make);
}

}  // namespace nbdkit

namespace nbdkit::server {

std::vector<std::string> registered_plugins() { return names_of(plugin_factories()); }
std::vector<std::string> registered_filters() { return names_of(filter_factories()); }

namespace {

// Messages printed while a layer's lifecycle call runs carry its name (a
// null name: none).  The server's own line about the call is printed
// without, in nbdkit's form ("debug: memory: load").
class LayerLogName {
 public:
  explicit LayerLogName(const char* name) : previous_(thread_log_name()) {
    set_thread_log_name(name);
  }
  ~LayerLogName() { set_thread_log_name(previous_); }
  LayerLogName(const LayerLogName&) = delete;
  LayerLogName& operator=(const LayerLogName&) = delete;

 private:
  const char* previous_;
};

// The one Backend being served decides it; layers ask for it from
// get_ready on.
std::atomic<ThreadModel> effective_thread_model{ThreadModel::parallel};

std::string layer_version(const Layer& layer) {
  std::string version = layer.version();
  return version.empty() ? server_version() : version;
}

ExternalPluginLoader external_plugin_loader = nullptr;

std::string executable_path() {
  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return "nbdkit";
  return std::string(path, static_cast<size_t>(length));
}

}  // namespace

void set_external_plugin_loader(ExternalPluginLoader loader) { external_plugin_loader = loader; }

Backend::Backend(const std::string& plugin_name, const std::vector<std::string>& filter_names)
    : plugin_name_(plugin_name), filter_names_(filter_names) {
  const auto& plugins = plugin_factories();
  const auto plugin = plugin_name.find('/') == std::string::npos ? plugins.find(plugin_name)
                                                                 : plugins.end();
  std::unique_ptr<ExternalPlugin> external;
  if (plugin == plugins.end() && external_plugin_loader)
    external = external_plugin_loader(plugin_name);
  if (plugin == plugins.end() && !external)
    throw Error("unknown plugin: " + plugin_name +
                    " (neither built in nor a plugin .so file); available plugins: " +
                    joined(registered_plugins()),
                ENOENT);
  const auto& filters = filter_factories();
  for (const auto& name : filter_names) {
    if (filters.find(name) == filters.end())
      throw Error("unknown filter: " + name + "; available filters: " +
                      joined(registered_filters()),
                  ENOENT);
  }

  if (external) {
    // Messages and --version use the name the plugin gives itself.
    plugin_name_ = external->name();
    external_ = external.get();
    plugin_ = std::move(external);
  } else {
    plugin_ = plugin->second();
  }
  for (const auto& name : filter_names) filters_.push_back(filters.at(name)());
}

Backend::~Backend() { cleanup_and_unload(); }

// One lifecycle step on one layer, with the layer's name on its messages.
void Backend::run_step(const std::string& layer_name, Layer& layer, const char* step,
                       void (Layer::*call)()) {
  debug("%s: %s", layer_name.c_str(), step);
  LayerLogName name(layer_name.c_str());
  (layer.*call)();
}

// nbdkit's order for steps that prepare the layers: the plugin, then the
// filters from the innermost out.
void Backend::plugin_then_filters(const char* step, void (Layer::*call)()) {
  run_step(plugin_name_, *plugin_, step, call);
  for (size_t i = filters_.size(); i-- > 0;) run_step(filter_names_[i], *filters_[i], step, call);
}

void Backend::load() {
  std::vector<std::string> names = filter_names_;
  names.push_back(plugin_name_);
  warn_unused_debug_flags(names);
  plugin_then_filters("load", &Layer::load);
  loaded_ = true;
}

// Each filter, outermost first, may keep the key, pass it on, or pass on
// other keys in its place.
void Backend::config_from(size_t layer, std::string_view key, std::string_view value) {
  const int key_length = static_cast<int>(key.size());
  const int value_length = static_cast<int>(value.size());
  const std::string& layer_name = layer == filters_.size() ? plugin_name_ : filter_names_[layer];
  {
    // A filter passes keys on from inside its own config call.
    LayerLogName server(nullptr);
    debug("%s: config key=%.*s, value=%.*s", layer_name.c_str(), key_length, key.data(),
          value_length, value.data());
  }
  LayerLogName name(layer_name.c_str());
  if (layer == filters_.size()) return plugin_->config(key, value);
  const ConfigNext next = [this, layer](std::string_view next_key, std::string_view next_value) {
    config_from(layer + 1, next_key, next_value);
  };
  filters_[layer]->config_chained(next, key, value);
}

void Backend::config(std::string_view key, std::string_view value) { config_from(0, key, value); }

// The outermost filter first: it sees (and may check) its configuration
// before the layers below it.
void Backend::config_complete() {
  for (size_t i = 0; i < filters_.size(); ++i)
    run_step(filter_names_[i], *filters_[i], "config_complete", &Layer::config_complete);
  run_step(plugin_name_, *plugin_, "config_complete", &Layer::config_complete);
}

void Backend::get_ready() {
  debug("using thread model: %s", to_string(thread_model()));
  effective_thread_model = thread_model();
  plugin_then_filters("get_ready", &Layer::get_ready);
}

void Backend::after_fork() { plugin_then_filters("after_fork", &Layer::after_fork); }

void Backend::cleanup_and_unload() {
  if (!loaded_ || unloaded_) return;
  unloaded_ = true;
  // Shutting down goes on past a failing layer, so each error is only
  // reported.
  auto guarded = [](const std::string& layer_name, const char* what, auto&& call) {
    debug("%s: %s", layer_name.c_str(), what);
    LayerLogName name(layer_name.c_str());
    try {
      call();
    } catch (const std::exception& e) {
      error("%s: %s", what, e.what());
    }
  };
  for (size_t i = 0; i < filters_.size(); ++i)
    guarded(filter_names_[i], "cleanup", [&] { filters_[i]->cleanup(); });
  guarded(plugin_name_, "cleanup", [&] { plugin_->cleanup(); });
  guarded(plugin_name_, "unload", [&] { plugin_->unload(); });
  for (size_t i = filters_.size(); i-- > 0;)
    guarded(filter_names_[i], "unload", [&] { filters_[i]->unload(); });
}

ThreadModel Backend::thread_model() const {
  ThreadModel model = plugin_->thread_model();
  for (const auto& filter : filters_) model = std::min(model, filter->thread_model());
  return model;
}

bool Backend::data_calls_are_nonblocking() const {
  return plugin_->data_calls_are_nonblocking() &&
         std::all_of(filters_.begin(), filters_.end(),
                     [](const auto& filter) { return filter->data_calls_are_nonblocking(); });
}

void Backend::preconnect_from(size_t layer, bool readonly) {
  if (layer == filters_.size()) return plugin_->preconnect(readonly);
  const PreconnectNext next = [this, layer](bool next_readonly) {
    preconnect_from(layer + 1, next_readonly);
  };
  filters_[layer]->preconnect_chained(next, readonly);
}

void Backend::preconnect(bool readonly) { preconnect_from(0, readonly); }

std::unique_ptr<Context> Backend::open_from(size_t layer, bool readonly,
                                            std::string_view exportname, bool is_tls) {
  const std::string& name = layer == filters_.size() ? plugin_name_ : filter_names_[layer];
  const TraceSettings trace = trace_settings();
  trace_open(trace, name, readonly, exportname, is_tls);
  std::unique_ptr<Context> context;
  if (layer == filters_.size()) {
    context = plugin_->open(readonly, exportname, is_tls);
  } else {
    // Captures only what lives as long as the Backend, so a filter may keep
    // `next` to reopen the layer below later.
    const OpenNext next = [this, layer, is_tls](bool next_readonly,
                                                std::string_view next_exportname) {
      return open_from(layer + 1, next_readonly, next_exportname, is_tls);
    };
    context = filters_[layer]->open(next, readonly, exportname, is_tls);
  }
  if (!context) throw Error(name + ": open returned no context", EIO);
  return traced(trace, name, std::move(context));
}

std::unique_ptr<Context> Backend::open(bool readonly, std::string_view exportname, bool is_tls) {
  set_current_export(exportname, is_tls);
  return open_from(0, readonly, exportname, is_tls);
}

std::vector<ExportInfo> Backend::list_exports_from(size_t layer, bool readonly, bool is_tls) {
  if (layer == filters_.size()) return plugin_->list_exports(readonly, is_tls);
  const ListExportsNext next = [this, layer](bool next_readonly, bool next_is_tls) {
    return list_exports_from(layer + 1, next_readonly, next_is_tls);
  };
  return filters_[layer]->list_exports(next, readonly, is_tls);
}

std::vector<ExportInfo> Backend::list_exports(bool readonly, bool is_tls) {
  return list_exports_from(0, readonly, is_tls);
}

std::string Backend::default_export_from(size_t layer, bool readonly, bool is_tls) {
  if (layer == filters_.size()) return plugin_->default_export(readonly, is_tls);
  const DefaultExportNext next = [this, layer](bool next_readonly, bool next_is_tls) {
    return default_export_from(layer + 1, next_readonly, next_is_tls);
  };
  return filters_[layer]->default_export(next, readonly, is_tls);
}

std::string Backend::default_export(bool readonly, bool is_tls) {
  return default_export_from(0, readonly, is_tls);
}

// Built-in layers have no shared object, C struct size or has_* callback
// table to report; path= names the server binary that contains the plugin.
// A C plugin reports them as nbdkit does.
void Backend::dump_plugin(std::ostream& out) const {
  out << "path=" << (external_ ? external_->path() : executable_path()) << '\n'
      << "name=" << plugin_name_ << '\n'
      << "version=" << layer_version(*plugin_) << '\n';
  out << "api_version=" << (external_ ? external_->api_version() : 2) << '\n';
  if (external_) out << "struct_size=" << external_->struct_size() << '\n';
  out << "max_thread_model="
      << to_string(external_ ? external_->max_thread_model() : plugin_->thread_model()) << '\n'
      << "thread_model=" << to_string(thread_model()) << '\n'
      << "errno_is_preserved=" << (external_ ? external_->errno_is_preserved() : true) << '\n';
  if (const char* magic = plugin_->magic_config_key()) out << "magic_config_key=" << magic << '\n';
  if (external_) external_->dump_callbacks(out);
  plugin_->dump_plugin(out);
  for (const auto& filter : filters_) filter->dump_plugin(out);
}

std::string Backend::config_help() const {
  std::ostringstream text;
  auto section = [&text, this](const char* kind, const std::string& name, const Layer& layer) {
    text << kind << ": ";
    if (&layer == external_)
      text << external_->help_heading();
    else
      text << name << '\n';
    std::string help = layer.config_help();
    if (!help.empty() && help.back() != '\n') help += '\n';
    text << help;
  };
  for (size_t i = 0; i < filters_.size(); ++i) {
    section("filter", filter_names_[i], *filters_[i]);
    text << '\n';
  }
  section("plugin", plugin_name_, *plugin_);
  return text.str();
}

std::string Backend::versions() const {
  std::string text;
  for (size_t i = 0; i < filters_.size(); ++i)
    text += filter_names_[i] + ' ' + layer_version(*filters_[i]) + '\n';
  text += plugin_name_ + ' ' + layer_version(*plugin_) + '\n';
  return text;
}

}  // namespace nbdkit::server

namespace nbdkit {

ThreadModel server_thread_model() { return server::effective_thread_model.load(); }

}  // namespace nbdkit
