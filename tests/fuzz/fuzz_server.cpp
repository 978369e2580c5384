#include "fuzz_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>

#include "backend.hpp"
#include "connection.hpp"
#include "log.hpp"
#include "wire.hpp"

namespace fuzz {

namespace {

using namespace nbdkit::server;

// One server for the whole run, as a real one serves many clients.
struct Server {
  Options options;
  Backend backend{"memory", {}};
  ServerContext ctx{options, backend, nullptr};

  Server() {
    options.log = LogTarget::null;
    configure_logging(options);
    backend.load();
    backend.config("size", "1M");
    backend.config_complete();
    backend.get_ready();
    backend.after_fork();
  }
};

Server& server() {
  static Server s;
  return s;
}

// The client: writes what it has to send while reading (and dropping)
// whatever the server replies, so neither side can block the other.
void play_client(int fd, std::span<const uint8_t> prefix, std::span<const uint8_t> input) {
  std::vector<uint8_t> out(prefix.begin(), prefix.end());
  out.insert(out.end(), input.begin(), input.end());
  size_t sent = 0;
  bool write_open = true;
  char sink[64 << 10];
  for (;;) {
    if (write_open && sent == out.size()) {
      ::shutdown(fd, SHUT_WR);
      write_open = false;
    }
    struct pollfd p = {fd, short(POLLIN | (write_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, -1) <= 0) break;
    if (p.revents & POLLOUT) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) write_open = false;  // the server has closed
      else sent += size_t(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (::read(fd, sink, sizeof sink) <= 0) break;
    }
  }
  ::close(fd);
}

void put_option(std::vector<uint8_t>& out, uint32_t option, const std::vector<uint8_t>& data) {
  const size_t at = out.size();
  out.resize(at + nbd::kOptionHeaderSize);
  nbd::put64(out.data() + at, nbd::kOptionMagic);
  nbd::put32(out.data() + at + 8, option);
  nbd::put32(out.data() + at + 12, uint32_t(data.size()));
  out.insert(out.end(), data.begin(), data.end());
}

}  // namespace

void serve_connection_from(std::span<const uint8_t> prefix, std::span<const uint8_t> input) {
  Server& s = server();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) abort();
  std::thread client(play_client, fds[1], prefix, input);
  serve_connection(s.ctx, std::make_unique<PlainTransport>(fds[0], fds[0], true));
  client.join();
}

std::vector<uint8_t> handshake_to_transmission() {
  std::vector<uint8_t> out = {0, 0, 0, 3};  // fixed newstyle, no zeroes
  put_option(out, nbd::kOptStructuredReply, {});
  const std::string query(nbd::kBaseAllocation);
  std::vector<uint8_t> meta = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, uint8_t(query.size())};
  meta.insert(meta.end(), query.begin(), query.end());
  put_option(out, nbd::kOptSetMetaContext, meta);
  put_option(out, nbd::kOptGo, {0, 0, 0, 0, 0, 0});
  return out;
}

}  // namespace fuzz
