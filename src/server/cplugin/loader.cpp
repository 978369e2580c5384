// Finding and loading a C plugin: `nbdkit ./foo.so`, `nbdkit /path/...`
// or `nbdkit foo` for $plugindir/nbdkit-foo-plugin.so when no built-in
// plugin is called foo.  Checks the ABI the plugin was built for and sets
// its -D debug flags.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "c_plugin.hpp"
#include "log.hpp"

namespace nbdkit::cplugin {

namespace {

// Where `nbdkit NAME` looks: $NBDKIT_PLUGINDIR alone when set (tests),
// else this build's plugin directory, then Debian's, so that a build
// installed elsewhere still finds the distribution's plugins.
std::vector<std::string> plugin_dirs() {
  if (const char* dir = std::getenv("NBDKIT_PLUGINDIR"); dir && *dir) return {dir};
  std::vector<std::string> dirs{NBDKIT_PLUGINDIR};
  const std::string debian = "/usr/lib/" NBDKIT_MULTIARCH "/nbdkit/plugins";
  if (debian != dirs[0]) dirs.push_back(debian);
  return dirs;
}

// nbdkit's rule for plugin names: a letter, then letters, digits, '-'
// or '_'.
bool is_plugin_name(const std::string& name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

// The file for `name`, or empty when there is none.
std::string find_plugin_file(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  if (!is_plugin_name(name)) return {};
  for (const std::string& dir : plugin_dirs()) {
    const std::string path = dir + "/nbdkit-" + name + "-plugin.so";
    if (::access(path.c_str(), F_OK) == 0) return path;
  }
  return {};
}

[[noreturn]] void refuse(const std::string& path, const std::string& reason) {
  throw Error("cannot load plugin '" + path + "': " + reason, ENOEXEC);
}

// The plugin's struct widened to ours: a plugin built against an older
// header has fewer trailing fields (they stay null), a newer one more
// (we ignore them).
nbdkit_plugin read_struct(const std::string& path, const nbdkit_plugin* registered) {
  if (!registered) refuse(path, "plugin_init() returned NULL");
  const uint64_t size = registered->_struct_size;
  // Everything up to the fields every API version has.
  constexpr uint64_t minimum = offsetof(nbdkit_plugin, errno_is_preserved);
  if (size < minimum) refuse(path, "its struct nbdkit_plugin is too small (" +
                                       std::to_string(size) + " bytes)");
  nbdkit_plugin abi{};
  std::memcpy(static_cast<void*>(&abi), registered, std::min<uint64_t>(size, sizeof abi));
  return abi;
}

void check_struct(const std::string& path, const nbdkit_plugin& abi) {
  if (abi._api_version != 1 && abi._api_version != 2)
    refuse(path, "it uses plugin API version " + std::to_string(abi._api_version) +
                     "; this nbdkit supports versions 1 and 2");
  if (abi._thread_model < NBDKIT_THREAD_MODEL_SERIALIZE_CONNECTIONS ||
      abi._thread_model > NBDKIT_THREAD_MODEL_PARALLEL)
    refuse(path, "unknown thread model " + std::to_string(abi._thread_model));
  if (!abi.name || !is_plugin_name(abi.name))
    refuse(path, std::string("the plugin's name '") + (abi.name ? abi.name : "(null)") +
                     "' is missing or not a letter followed by letters, digits, - or _");
  const bool has_pread = abi._api_version == 2 ? bool(abi.pread) : bool(abi._pread_v1);
  if (!abi.open || !abi.get_size || !has_pread)
    refuse(path, "the plugin lacks one of the required callbacks open, get_size, pread");
}

// -D NAME.FLAG=N sets the plugin's global `int NAME_debug_FLAG` (dots in
// FLAG become underscores).
void set_debug_flags(void* dl, const std::string& name) {
  for (const auto& [flag, value] : server::debug_flags_of(name)) {
    std::string symbol = name + "_debug_" + flag;
    for (char& c : symbol)
      if (c == '.' || c == '-') c = '_';
    if (int* variable = static_cast<int*>(::dlsym(dl, symbol.c_str())))
      *variable = value;
    else
      std::fprintf(stderr,
                   "nbdkit: warning: -D %s.%s: %s does not contain a global variable called %s\n",
                   name.c_str(), flag.c_str(), name.c_str(), symbol.c_str());
  }
}

std::unique_ptr<server::ExternalPlugin> load_c_plugin(const std::string& name) {
  const std::string path = find_plugin_file(name);
  if (path.empty()) return nullptr;
  // RTLD_GLOBAL: language plugins (python, perl) load extension modules
  // that expect the interpreter's symbols to be global.
  void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!dl) throw Error("cannot open plugin '" + path + "': " + ::dlerror(), ENOENT);
  // The object stays loaded until exit: plugins may leave threads or
  // atexit handlers behind, and nbdkit never unmaps them before unload.
  using Init = nbdkit_plugin* (*)();
  const auto init = reinterpret_cast<Init>(::dlsym(dl, "plugin_init"));
  if (!init) refuse(path, "it is not an nbdkit plugin (no plugin_init symbol)");
  const nbdkit_plugin* registered = init();
  const nbdkit_plugin abi = read_struct(path, registered);
  check_struct(path, abi);
  set_debug_flags(dl, abi.name);
  return std::make_unique<CPlugin>(path, abi, registered->_struct_size);
}

struct RegisterLoader {
  RegisterLoader() { server::set_external_plugin_loader(load_c_plugin); }
} register_loader;

}  // namespace

}  // namespace nbdkit::cplugin
