#include "current_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "lifecycle.hpp"
#include "log.hpp"

namespace nbdkit::server {

namespace {

thread_local std::shared_ptr<ConnectionState> current;

void read_peer(int fd, ConnectionInfo& info) {
  info.peer_length = sizeof info.peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&info.peer), &info.peer_length) == -1)
    info.peer_length = 0;
  if (info.peer_length == 0 || info.peer.ss_family != AF_UNIX) return;
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
    info.peer_uid = credentials.uid;
    info.peer_gid = credentials.gid;
    info.peer_pid = credentials.pid;
  }
  char label[256];
  length = sizeof label;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERSEC, label, &length) == 0 && length > 0)
    info.security_context.assign(label, strnlen(label, length));
}

void make_current(std::shared_ptr<ConnectionState> state) {
  set_thread_log_name(state && !state->log_name.empty() ? state->log_name.c_str() : nullptr);
  current = std::move(state);
}

}  // namespace

ConnectionScope::ConnectionScope(int fd, std::string log_name)
    : state_(std::make_shared<ConnectionState>()), previous_(std::move(current)) {
  state_->fd = fd;
  state_->log_name = std::move(log_name);
  read_peer(fd, state_->info);
  make_current(state_);
}

ConnectionScope::ConnectionScope(const std::shared_ptr<ConnectionState>& shared)
    : state_(shared), previous_(std::move(current)) {
  make_current(state_);
}

ConnectionScope::~ConnectionScope() { make_current(std::move(previous_)); }

std::shared_ptr<ConnectionState> current_connection_state() { return current; }

void set_current_export(std::string_view export_name, bool tls) {
  if (!current) return;
  current->info.export_name = export_name;
  current->info.tls = tls;
}

}  // namespace nbdkit::server

namespace nbdkit {

const ConnectionInfo* current_connection() {
  return server::current ? &server::current->info : nullptr;
}

// Waits on the quit pipe and, inside a connection, for the client hanging
// up (POLLRDHUP: pending requests do not wake it).
int nanosleep(uint64_t ns) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::nanoseconds(ns);
  pollfd fds[2] = {{server::quit_fd(), POLLIN, 0}, {-1, POLLRDHUP, 0}};
  if (server::current) fds[1].fd = server::current->fd;
  for (;;) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec timeout{static_cast<time_t>(left_ns / 1'000'000'000),
                           static_cast<long>(left_ns % 1'000'000'000)};
    const int ready = ::ppoll(fds, fds[1].fd >= 0 ? 2 : 1, &timeout, nullptr);
    if (ready == -1 && errno != EINTR) return errno;
    if (ready > 0) {
      if (fds[0].revents != 0 && fds[0].fd >= 0) {
        debug("sleep interrupted: the server is shutting down");
        return ESHUTDOWN;
      }
      if (fds[1].revents != 0) {
        debug("sleep interrupted: the client disconnected");
        return ESHUTDOWN;
      }
    }
  }
}

}  // namespace nbdkit
