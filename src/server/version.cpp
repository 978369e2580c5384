#include "version.hpp"

namespace nbdkit::server {

// NBDKIT_COMPAT_VERSION comes from the top-level CMakeLists.txt.
const char* server_version() { return NBDKIT_COMPAT_VERSION; }

}  // namespace nbdkit::server
