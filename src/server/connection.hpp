// One client connection: the NBD handshake (newstyle fixed or oldstyle)
// and the transmission phase.
#pragma once

#include <memory>

#include "backend.hpp"
#include "options.hpp"
#include "tls.hpp"
#include "transport.hpp"

namespace nbdkit::server {

struct ServerContext {
  const Options& options;
  Backend& backend;
  TlsServer* tls;  // nullptr when TLS is off or no credentials loaded
};

// Serves one client from handshake to disconnect, on the calling thread
// (it may start worker threads of its own).  Never throws: errors are
// logged and end only this connection.
void serve_connection(ServerContext& ctx, std::unique_ptr<PlainTransport> transport);

// Makes every connection inside serve_connection() stop reading: requests
// in flight finish, those already received but not started are answered
// with ESHUTDOWN, then the connection ends.  Used for a graceful shutdown.
void stop_all_connections();

// Shuts every connection's socket both ways, waking threads blocked on a
// client that no longer reads its replies: the end of a shutdown's grace
// period.
void cut_all_connections();

}  // namespace nbdkit::server
