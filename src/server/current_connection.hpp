// The thread-local view behind nbdkit::current_connection() and the
// connection-aware nbdkit::nanosleep().
#pragma once

#include <forward_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nbdkit/services.hpp>

namespace nbdkit::server {

struct ConnectionState {
  ConnectionInfo info;
  int fd = -1;  // the client's socket, watched for a hang-up while sleeping
  // Strings C plugins interned (nbdkit_strdup_intern) while serving this
  // connection; they live as long as it does.
  std::mutex interned_mutex;
  std::forward_list<std::string> interned;
  // Prefix of the messages of every thread serving it ("memory[1]").
  std::string log_name;
};

// Makes a connection current on the calling thread for the scope's life.
class ConnectionScope {
 public:
  // A new connection: reads the peer's address and credentials from `fd`.
  explicit ConnectionScope(int fd, std::string log_name = {});
  // The connection current on the thread that creates the scope, for the
  // worker threads it starts (nothing when there is none).
  explicit ConnectionScope(const std::shared_ptr<ConnectionState>& shared);
  ~ConnectionScope();
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;

 private:
  std::shared_ptr<ConnectionState> state_;
  std::shared_ptr<ConnectionState> previous_;
};

// The state current on this thread (null outside a connection).
std::shared_ptr<ConnectionState> current_connection_state();

// Records what the client chose when its export is opened.
void set_current_export(std::string_view export_name, bool tls);

}  // namespace nbdkit::server
