#include "gnutls_library.hpp"

#include <dlfcn.h>

#include <string>

#include "nbdkit/plugin.hpp"

namespace nbdkit::server {

namespace {

// The soname of every GnuTLS 3.x release.
constexpr const char* library_name = "libgnutls.so.30";

GnuTls load() {
  void* library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
  if (!library) throw Error(std::string("TLS needs GnuTLS: ") + dlerror());
  auto symbol = [library](const char* name) {
    void* address = dlsym(library, name);
    if (!address) throw Error(std::string("TLS: ") + library_name + " lacks " + name);
    return address;
  };
  GnuTls functions;
#define NBDKIT_GNUTLS_RESOLVE(name) \
  functions.name = reinterpret_cast<decltype(functions.name)>(symbol("gnutls_" #name));
  NBDKIT_GNUTLS_FUNCTIONS(NBDKIT_GNUTLS_RESOLVE)
#undef NBDKIT_GNUTLS_RESOLVE
  functions.free = *static_cast<gnutls_free_function*>(symbol("gnutls_free"));
  // Never unloaded: sessions and credentials live until exit.
  return functions;
}

}  // namespace

const GnuTls& gnutls() {
  static const GnuTls functions = load();
  return functions;
}

}  // namespace nbdkit::server
