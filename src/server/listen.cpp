#include "listen.hpp"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include <nbdkit/plugin.hpp>

#include "lifecycle.hpp"
#include "log.hpp"
#include "trace.hpp"

namespace nbdkit::server {

namespace {

constexpr const char* default_port = "10809";

// How long clients get, after a shutdown signal, to read the replies to
// what they had sent.
constexpr std::chrono::seconds kShutdownGrace{3};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void make_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void set_int_option(int fd, int level, int name, int value) {
  ::setsockopt(fd, level, name, &value, sizeof value);
}

// The threads serving clients.  Each reports on `done_fd` when it has
// finished, so the accept loop can join it (and, under
// serialize_connections, accept the next client).
class ConnectionThreads {
 public:
  ConnectionThreads() : done_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (done_fd_ == -1) throw Error(errno_text("eventfd"));
  }
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;
  ~ConnectionThreads() {
    join_all();
    ::close(done_fd_);
  }

  int done_fd() const { return done_fd_; }
  size_t active() const { return threads_.size(); }

  // Serves the client on a thread of its own.  Without a thread to be had
  // (RLIMIT_NPROC, TasksMax, memory) that client alone is refused: its
  // descriptors are closed and the server carries on.
  void start(ServerContext& ctx, int in_fd, int out_fd) {
    auto transport = std::make_unique<PlainTransport>(in_fd, out_fd, true);
    Entry& entry = threads_.emplace_back();
    try {
      entry.thread = std::thread([this, &ctx, &entry, transport = std::move(transport)]() mutable {
        serve_connection(ctx, std::move(transport));
        entry.finished.store(true);
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(done_fd_, &one, sizeof one);
      });
    } catch (const std::system_error& e) {
      // The thread's copy of the function, and with it the transport, is
      // already destroyed: the client's socket is closed.
      threads_.pop_back();
      nbdkit::error("cannot start a thread for a new client, refusing it: %s", e.what());
    }
  }

  void join_finished() {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(done_fd_, &count, sizeof count);
    threads_.remove_if([](Entry& entry) {
      if (!entry.finished.load()) return false;
      entry.thread.join();
      return true;
    });
  }

  void join_all() {
    for (Entry& entry : threads_) entry.thread.join();
    threads_.clear();
  }

 private:
  struct Entry {
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  int done_fd_;
  std::list<Entry> threads_;  // std::list: entries must not move
};

// Once the server stops accepting: waits for every connection to end,
// cutting clients short only if a signal asked for the shutdown (which may
// come while waiting: hence the bounded poll).  Clients then get
// kShutdownGrace to receive their replies; after that their sockets are
// shut both ways, so that one which stopped reading cannot hold the
// server up.
void finish_connections(ConnectionThreads& connections) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> cut_at;
  bool cut = false;
  while (connections.active() > 0) {
    if (!cut_at && shutdown_interrupts_clients()) {
      stop_all_connections();
      cut_at = Clock::now() + kShutdownGrace;
    }
    if (cut_at && !cut && Clock::now() >= *cut_at) {
      nbdkit::error("%zu connections still busy after the shutdown grace period: closing them",
                    connections.active());
      cut_all_connections();
      cut = true;
    }
    int timeout_ms = cut ? -1 : 100;
    if (cut_at && !cut)
      timeout_ms = std::max(
          0, int(std::chrono::ceil<std::chrono::milliseconds>(*cut_at - Clock::now()).count()));
    struct pollfd done = {connections.done_fd(), POLLIN, 0};
    if (::poll(&done, 1, timeout_ms) == -1 && errno != EINTR)
      throw Error(errno_text("poll"));
    if (done.revents) connections.join_finished();
  }
}

// Waits until a shutdown is requested or every connection has finished.
void wait_for_connections(ConnectionThreads& connections) {
  while (connections.active() > 0) {
    struct pollfd fds[2] = {{quit_fd(), POLLIN, 0}, {connections.done_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) == -1) {
      if (errno == EINTR) continue;
      throw Error(errno_text("poll"));
    }
    if (fds[0].revents) break;
    if (fds[1].revents) connections.join_finished();
  }
  finish_connections(connections);
}

void prepare_accepted_socket(int fd, int listen_family, const Options& options) {
  if (listen_family == AF_INET || listen_family == AF_INET6) {
    set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (options.keepalive) set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  }
  // A Unix socket's send buffer bounds the bytes in flight to the client:
  // the default (about 200 KiB) makes a 1 MiB read reply wait for the
  // client several times.  The kernel caps it at net.core.wmem_max.
  if (listen_family == AF_UNIX) set_int_option(fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
}

int socket_family(int fd) {
  struct sockaddr_storage address {};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == -1)
    return AF_UNSPEC;
  return address.ss_family;
}

// "bound to ADDRESS" for each listening socket (-v).
void log_listening(const std::vector<int>& fds, bool socket_activation) {
  if (!verbose()) return;
  for (const int fd : fds) {
    struct sockaddr_storage address {};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == -1) continue;
    debug("%s %s", socket_activation ? "socket activation: listening on" : "bound to",
          describe_address(address, length).c_str());
  }
}

}  // namespace

Listener::Listener(const Options& options) {
  if (options.socket_activation) {
    // systemd passes them from descriptor 3 on.
    for (int fd = 3; fd < 3 + options.listen_fds; ++fd) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      make_nonblocking(fd);
      fds_.push_back(fd);
    }
  } else if (options.unix_socket) {
    if (*options.unix_socket == "-") {
      const char* tmpdir = std::getenv("TMPDIR");
      std::string dir_template = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/nbdkitXXXXXX";
      if (!::mkdtemp(dir_template.data())) throw Error(errno_text("mkdtemp: " + dir_template));
      private_dir_ = dir_template;
      bind_unix(private_dir_ + "/socket");
    } else {
      bind_unix(*options.unix_socket);
    }
  } else if (options.vsock) {
    bind_vsock(options);
  } else {
    bind_tcp(options);
  }
  log_listening(fds_, options.socket_activation);
}

Listener::~Listener() {
  close_sockets();
  remove_private_socket();
}

void Listener::close_sockets() {
  for (const int fd : fds_) ::close(fd);
  fds_.clear();
}

void Listener::remove_private_socket() {
  if (private_dir_.empty()) return;
  ::unlink(unix_socket_.c_str());
  ::rmdir(private_dir_.c_str());
}

void Listener::bind_unix(const std::string& path) {
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw Error("-U: path too long: length " + std::to_string(path.size()) + " > max " +
                std::to_string(sizeof address.sun_path - 1) + " bytes");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1) throw Error(errno_text("socket"));
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) == -1 ||
      ::listen(fd, SOMAXCONN) == -1) {
    const std::string message = errno_text(path);
    ::close(fd);
    throw Error(message);
  }
  fds_.push_back(fd);
  unix_socket_ = path;
}

void Listener::bind_tcp(const Options& options) {
  struct addrinfo hints {};
  hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = options.family == AddressFamily::ipv4   ? AF_INET
                    : options.family == AddressFamily::ipv6 ? AF_INET6
                                                            : AF_UNSPEC;
  const char* host = options.ipaddr ? options.ipaddr->c_str() : nullptr;
  const char* port = options.port ? options.port->c_str() : default_port;

  struct addrinfo* results = nullptr;
  if (const int err = ::getaddrinfo(host, port, &hints, &results); err != 0)
    throw Error(std::string("getaddrinfo: ") + (host ? host : "") + ": " + port + ": " +
                ::gai_strerror(err));
  const std::unique_ptr<struct addrinfo, decltype(&::freeaddrinfo)> owner(results, ::freeaddrinfo);

  std::string first_in_use_error;
  for (const struct addrinfo* info = results; info; info = info->ai_next) {
    const int fd = ::socket(info->ai_family, info->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            info->ai_protocol);
    if (fd == -1) {
      if (errno == EAFNOSUPPORT) continue;  // e.g. IPv6 disabled in the kernel
      throw Error(errno_text("socket"));
    }
    set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // Each family gets its own socket, so the IPv6 one must not also claim
    // the IPv4 port.
    if (info->ai_family == AF_INET6) set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (::bind(fd, info->ai_addr, info->ai_addrlen) == -1) {
      const int err = errno;
      ::close(fd);
      if (err == EADDRNOTAVAIL) continue;
      errno = err;
      const std::string message =
          errno_text(std::string("bind: ") + (host ? host : "*") + " port " + port);
      // As nbdkit: a port taken on one of the addresses (say by an
      // IPv4-only server) is still served on the others; it is an error
      // only when none can have it.
      if (err == EADDRINUSE) {
        if (first_in_use_error.empty()) first_in_use_error = message;
        continue;
      }
      throw Error(message);
    }
    if (::listen(fd, SOMAXCONN) == -1) {
      const std::string message = errno_text("listen");
      ::close(fd);
      throw Error(message);
    }
    fds_.push_back(fd);
  }
  if (fds_.empty() && !first_in_use_error.empty()) throw Error(first_in_use_error);
  if (fds_.empty()) throw Error("unable to bind to any TCP/IP sockets");
}

void Listener::bind_vsock(const Options& options) {
  unsigned port = 10809;
  if (options.port) {
    const std::string& text = *options.port;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size())
      throw Error("--vsock: -p must be a port number: " + text);
  }
  struct sockaddr_vm address {};
  address.svm_family = AF_VSOCK;
  address.svm_cid = VMADDR_CID_ANY;
  address.svm_port = port;

  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1) throw Error(errno_text("socket: AF_VSOCK"));
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) == -1 ||
      ::listen(fd, SOMAXCONN) == -1) {
    const std::string message = errno_text("bind: vsock port " + std::to_string(port));
    ::close(fd);
    throw Error(message);
  }
  fds_.push_back(fd);
}

namespace {

// Each client holds a descriptor: allow as many as the hard limit does
// (the soft limit is often 1024).
void raise_descriptor_limit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) == -1)
      debug("cannot raise RLIMIT_NOFILE: %s", std::strerror(errno));
  }
}

}  // namespace

void accept_connections(ServerContext& ctx, Listener& listener) {
  raise_descriptor_limit();
  const bool one_at_a_time = ctx.backend.thread_model() == ThreadModel::serialize_connections;
  ConnectionThreads connections;

  std::vector<int> families;
  std::vector<struct pollfd> fds{{quit_fd(), POLLIN, 0}, {connections.done_fd(), POLLIN, 0}};
  for (const int fd : listener.fds()) {
    fds.push_back({fd, POLLIN, 0});
    families.push_back(socket_family(fd));
  }
  constexpr size_t first_listener = 2;

  while (!shutdown_requested()) {
    const bool accepting = !one_at_a_time || connections.active() == 0;
    const nfds_t count = accepting ? fds.size() : first_listener;
    if (::poll(fds.data(), count, -1) == -1) {
      if (errno == EINTR) continue;
      throw Error(errno_text("poll"));
    }
    if (fds[0].revents) break;
    if (fds[1].revents) connections.join_finished();
    if (!accepting) continue;

    for (size_t i = first_listener; i < count; ++i) {
      if (!fds[i].revents) continue;
      const int client = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client == -1) {
        // The client gave up, or we ran out of descriptors: an error for
        // this client only.
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) continue;
        nbdkit::error("accept: %s", std::strerror(err));
        // Out of descriptors: the pending client stays readable, so pause
        // (waking for a shutdown) instead of spinning until one is freed.
        if (err == EMFILE || err == ENFILE) {
          struct pollfd quit = {quit_fd(), POLLIN, 0};
          ::poll(&quit, 1, 100);
        }
        continue;
      }
      prepare_accepted_socket(client, families[i - first_listener], ctx.options);
      connections.start(ctx, client, client);
      if (one_at_a_time) break;
    }
  }

  // New clients are refused from here on; those connected finish what
  // they asked for.
  listener.close_sockets();
  finish_connections(connections);
}

void serve_single_connection(ServerContext& ctx, int in_fd, int out_fd) {
  ConnectionThreads connections;
  connections.start(ctx, in_fd, out_fd);
  wait_for_connections(connections);
}

}  // namespace nbdkit::server
