// The nbdkit version this server reports (--version, --dump-config,
// --dump-plugin, $nbdkit_version-style checks in scripts).
#pragma once

namespace nbdkit::server {

// "MAJOR.MINOR.MICRO": the nbdkit feature level we implement.
const char* server_version();

}  // namespace nbdkit::server
