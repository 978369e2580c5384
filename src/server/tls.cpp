// Placeholder until GnuTLS support lands: TLS is never offered.
#include "tls.hpp"

namespace nbdkit::server {

std::unique_ptr<TlsServer> TlsServer::load(const TlsSettings&) { return nullptr; }

}  // namespace nbdkit::server
