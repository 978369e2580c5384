// A connection's lifetime: the phases in order (negotiation.cpp, then
// transmission.cpp), and the registry through which a shutdown reaches
// every connection.
#include "connection.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "connection_impl.hpp"
#include "current_connection.hpp"
#include "log.hpp"
#include "trace.hpp"

namespace nbdkit::server {

namespace {

// Every connection inside serve_connection(), so that a shutdown can reach
// them all.
struct Registry {
  std::mutex mutex;
  std::set<Connection*> live;
  bool stopping = false;
};
Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void Connection::serve() {
  try {
    ctx_.backend.preconnect(ctx_.options.readonly);
  } catch (const std::exception& e) {
    error("client refused: %s", e.what());
    return;
  }
  const Negotiation outcome = negotiate();
  if (outcome == Negotiation::transmit && !stopping_.load()) {
    debug("negotiation finished: export \"%s\" size %llu flags 0x%x%s", export_name_.c_str(),
          static_cast<unsigned long long>(export_state_.size), export_state_.eflags,
          structured_replies_ ? " structured replies" : "");
    transmission();
  }
  // A failed TLS upgrade leaves no transport: the TLS code closed it.
  if (transport_) transport_->shutdown_write();
  context_.reset();
}

void serve_connection(ServerContext& ctx, std::unique_ptr<PlainTransport> transport) {
  // Numbers the connections for their messages' prefix, as nbdkit does.
  static std::atomic<unsigned> connections_served{0};
  try {
    ConnectionScope scope(transport->fd(), ctx.backend.plugin_name() + '[' +
                                               std::to_string(++connections_served) + ']');
    const std::string peer = verbose() ? describe_peer(*current_connection()) : std::string();
    debug("accepted connection from %s", peer.c_str());
    Connection connection(ctx, std::move(transport));
    Registry& r = registry();
    {
      std::lock_guard lock(r.mutex);
      if (r.stopping) return;
      r.live.insert(&connection);
    }
    struct Unregister {
      Registry& r;
      Connection* c;
      ~Unregister() {
        std::lock_guard lock(r.mutex);
        r.live.erase(c);
      }
    } unregister{r, &connection};
    connection.serve();
    debug("closed connection from %s", peer.c_str());
  } catch (const std::exception& e) {
    error("connection failed: %s", e.what());
  }
}

void stop_all_connections() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.stopping = true;
  for (Connection* c : r.live) c->stop();
}

void cut_all_connections() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (Connection* c : r.live) c->cut();
}

}  // namespace nbdkit::server
