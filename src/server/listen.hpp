// Listening sockets and the accept loop.
#pragma once

#include <string>
#include <vector>

#include "connection.hpp"
#include "options.hpp"

namespace nbdkit::server {

// The sockets clients connect to: TCP (-i/-p/-4/-6, default every address
// on port 10809), a Unix socket (-U, `-U -` for a private one), AF_VSOCK
// (--vsock) or the descriptors systemd passed (socket activation).
class Listener {
 public:
  // Binds and listens.  Throws nbdkit::Error (address in use, bad path, ...).
  explicit Listener(const Options& options);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  const std::vector<int>& fds() const { return fds_; }
  // The Unix socket path listened on, or "".
  const std::string& unix_socket() const { return unix_socket_; }

  void close_sockets();
  // Removes the private `-U -` socket and its directory; idempotent.
  void remove_private_socket();

 private:
  void bind_tcp(const Options& options);
  void bind_unix(const std::string& path);
  void bind_vsock(const Options& options);

  std::vector<int> fds_;
  std::string unix_socket_;
  std::string private_dir_;  // set for `-U -`
};

// Accepts clients until a shutdown is requested, serving each on a thread of
// its own (one at a time when the thread model is serialize_connections).
// Then stops listening, stops every connection and waits for their threads.
void accept_connections(ServerContext& ctx, Listener& listener);

// -s: serves the one client on `in_fd`/`out_fd` (taken over), then returns;
// a shutdown request stops it gracefully.
void serve_single_connection(ServerContext& ctx, int in_fd, int out_fd);

}  // namespace nbdkit::server
