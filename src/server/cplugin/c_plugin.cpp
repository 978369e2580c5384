// The plugin-wide calls of a C plugin: lifecycle, configuration, export
// listing and open.  The per-connection calls are in c_context.cpp.
#include "c_plugin.hpp"

#include <algorithm>
#include <cstdio>

#include "abi.hpp"

namespace nbdkit::cplugin {

std::unique_ptr<Context> make_context(CPlugin& plugin, void* handle);

namespace {

// Debian's plugins whose data calls only compute or touch memory: the
// server may run them on the connection's own thread and batch replies
// (Layer::data_calls_are_nonblocking) instead of handing each request to a
// worker thread.  Anything else may block, so it gets workers.
constexpr std::string_view kNonblockingPlugins[] = {
    "data", "full", "info", "memory", "null", "pattern", "random", "sparse-random", "zero"};

ThreadModel to_model(int model) {
  return static_cast<ThreadModel>(std::clamp(model, 0, 3));
}

}  // namespace

CPlugin::CPlugin(std::string path, const nbdkit_plugin& abi, uint64_t struct_size)
    : path_(std::move(path)), name_(abi.name), abi_(abi), struct_size_(struct_size) {}

void CPlugin::call(const char* what, int (*callback)()) const {
  if (callback) checked_call(name_ + ": " + what, callback, minus_one);
}

ThreadModel CPlugin::max_thread_model() const { return to_model(abi_._thread_model); }

bool CPlugin::serializes_all() const {
  return thread_model() <= ThreadModel::serialize_all_requests;
}

// The model the plugin was built with, lowered by its .thread_model
// callback, which may depend on the configuration and so is asked once,
// on first need after config_complete (or for --dump-plugin).
ThreadModel CPlugin::thread_model() const {
  int model = thread_model_.load();
  if (model >= 0) return to_model(model);
  model = abi_._thread_model;
  if (abi_.thread_model)
    model = std::min(model, checked_call(name_ + ": thread_model", abi_.thread_model, minus_one));
  thread_model_.store(model);
  return to_model(model);
}

std::string CPlugin::version() const { return abi_.version ? abi_.version : ""; }

std::string CPlugin::help_heading() const {
  std::string text = name_;
  if (abi_.longname) text = text + " (" + abi_.longname + ")";
  text += "\n(" + path_ + ")\n";
  if (abi_.description) text = text + abi_.description + "\n";
  return text;
}

std::string CPlugin::config_help() const { return abi_.config_help ? abi_.config_help : ""; }

bool CPlugin::data_calls_are_nonblocking() const {
  return std::find(std::begin(kNonblockingPlugins), std::end(kNonblockingPlugins), name_) !=
         std::end(kNonblockingPlugins);
}

// The plugin prints with C stdio; what we printed must come out first.
void CPlugin::dump_plugin(std::ostream& out) const {
  if (!abi_.dump_plugin) return;
  out.flush();
  std::fflush(stdout);
  abi_.dump_plugin();
  std::fflush(stdout);
}

void CPlugin::dump_callbacks(std::ostream& out) const {
  const auto& p = abi_;
  const bool v2 = this->v2();
  const std::pair<const char*, bool> callbacks[] = {
      {"longname", p.longname},
      {"description", p.description},
      {"load", p.load},
      {"unload", p.unload},
      {"dump_plugin", p.dump_plugin},
      {"config", p.config},
      {"config_complete", p.config_complete},
      {"config_help", p.config_help},
      {"thread_model", p.thread_model},
      {"get_ready", p.get_ready},
      {"after_fork", p.after_fork},
      {"preconnect", p.preconnect},
      {"list_exports", p.list_exports},
      {"default_export", p.default_export},
      {"open", p.open},
      {"close", p.close},
      {"export_description", p.export_description},
      {"get_size", p.get_size},
      {"block_size", p.block_size},
      {"can_write", p.can_write},
      {"can_flush", p.can_flush},
      {"is_rotational", p.is_rotational},
      {"can_trim", p.can_trim},
      {"can_zero", p.can_zero},
      {"can_fast_zero", p.can_fast_zero},
      {"can_extents", p.can_extents},
      {"can_fua", p.can_fua},
      {"can_multi_conn", p.can_multi_conn},
      {"can_cache", p.can_cache},
      {"pread", v2 ? bool(p.pread) : bool(p._pread_v1)},
      {"pwrite", v2 ? bool(p.pwrite) : bool(p._pwrite_v1)},
      {"flush", v2 ? bool(p.flush) : bool(p._flush_v1)},
      {"trim", v2 ? bool(p.trim) : bool(p._trim_v1)},
      {"zero", v2 ? bool(p.zero) : bool(p._zero_v1)},
      {"extents", p.extents},
      {"cache", p.cache},
  };
  for (const auto& [callback, present] : callbacks)
    if (present) out << "has_" << callback << "=1\n";
}

void CPlugin::load() {
  if (abi_.load) abi_.load();
}

void CPlugin::config(std::string_view key, std::string_view value) {
  if (!abi_.config)
    throw Error(name_ + ": this plugin takes no parameters (given " + std::string(key) + "=" +
                std::string(value) + ")");
  // Plugins may keep the pointers (nbdkit passes argv): the strings live
  // as long as the plugin.
  const char* k = config_strings_.emplace_front(key).c_str();
  const char* v = config_strings_.emplace_front(value).c_str();
  checked_call(name_ + ": config", [&] { return abi_.config(k, v); }, minus_one);
}

void CPlugin::config_complete() {
  call("config_complete", abi_.config_complete);
  thread_model_.store(-1);  // the configuration may change the answer
}

void CPlugin::get_ready() { call("get_ready", abi_.get_ready); }
void CPlugin::after_fork() { call("after_fork", abi_.after_fork); }

void CPlugin::preconnect(bool readonly) {
  if (!abi_.preconnect) return;
  checked_call(name_ + ": preconnect", [&] { return abi_.preconnect(readonly); }, minus_one);
}

void CPlugin::cleanup() {
  if (abi_.cleanup) abi_.cleanup();
}

void CPlugin::unload() {
  if (abi_.unload) abi_.unload();
}

// Without .list_exports a plugin offers its default export only.
std::vector<ExportInfo> CPlugin::list_exports(bool readonly, bool is_tls) {
  nbdkit_exports exports;
  if (abi_.list_exports)
    checked_call(name_ + ": list_exports",
                 [&] { return abi_.list_exports(readonly, is_tls, &exports); }, minus_one);
  else
    nbdkit_use_default_export(&exports);
  if (exports.use_default) exports.list.push_back({default_export(readonly, is_tls), ""});
  return std::move(exports.list);
}

std::string CPlugin::default_export(bool readonly, bool is_tls) {
  if (!abi_.default_export) return {};
  const char* name = checked_call(
      name_ + ": default_export", [&] { return abi_.default_export(readonly, is_tls); },
      [](const char* result) { return result == nullptr; });
  return name;
}

std::unique_ptr<Context> CPlugin::open(bool readonly, std::string_view, bool) {
  std::unique_lock lock(serialize_mutex_, std::defer_lock);
  if (serializes_all()) lock.lock();
  void* handle = checked_call(name_ + ": open", [&] { return abi_.open(readonly); },
                              [](void* result) { return result == nullptr; });
  lock = {};
  return make_context(*this, handle);
}

}  // namespace nbdkit::cplugin
