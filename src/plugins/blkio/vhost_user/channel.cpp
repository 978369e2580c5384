#include "vhost_user/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace blkio::vhost_user {

namespace {

std::string describe(Request req) { return std::string(request_name(req)); }

int fail(int err, std::string& message, const std::string& what) {
  message = what + ": " + std::strerror(err);
  return -err;
}

}  // namespace

const char* request_name(Request r) {
  switch (r) {
    case Request::get_features: return "GET_FEATURES";
    case Request::set_features: return "SET_FEATURES";
    case Request::set_owner: return "SET_OWNER";
    case Request::set_mem_table: return "SET_MEM_TABLE";
    case Request::set_vring_num: return "SET_VRING_NUM";
    case Request::set_vring_addr: return "SET_VRING_ADDR";
    case Request::set_vring_base: return "SET_VRING_BASE";
    case Request::get_vring_base: return "GET_VRING_BASE";
    case Request::set_vring_kick: return "SET_VRING_KICK";
    case Request::set_vring_call: return "SET_VRING_CALL";
    case Request::get_protocol_features: return "GET_PROTOCOL_FEATURES";
    case Request::set_protocol_features: return "SET_PROTOCOL_FEATURES";
    case Request::get_queue_num: return "GET_QUEUE_NUM";
    case Request::set_vring_enable: return "SET_VRING_ENABLE";
    case Request::get_config: return "GET_CONFIG";
  }
  return "request";
}

Channel::~Channel() { close(); }

void Channel::close() {
  if (fd_ != -1) ::close(fd_);
  fd_ = -1;
}

int Channel::connect(const std::string& path, std::string& message) {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return fail(ENAMETOOLONG, message, path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ == -1) return fail(errno, message, "socket");
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1) {
    const int err = errno;
    close();
    return fail(err, message, path);
  }
  return 0;
}

int Channel::write_message(Request req, uint32_t flags, std::span<const uint8_t> payload,
                           std::span<const int> fds, std::string& message) {
  if (fd_ == -1) return fail(ENOTCONN, message, describe(req));
  if (fds.size() > size_t{max_mem_regions}) return fail(EINVAL, message, describe(req));
  Header h{uint32_t(req), header_flag::version | flags, uint32_t(payload.size())};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<uint8_t*>(payload.data()), payload.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_mem_regions)] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  const size_t total = sizeof h + payload.size();
  ssize_t n;
  do n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
  while (n == -1 && errno == EINTR);
  if (n == -1) return fail(errno, message, "sending " + describe(req));
  // Messages are small: a short send on a stream socket would only happen
  // with a full buffer the back end is not draining.
  if (size_t(n) != total) return fail(EIO, message, "sending " + describe(req) + " (short write)");
  return 0;
}

int Channel::read_exact(void* buf, size_t len, std::string& message) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout_ms_);
    if (ready == -1 && errno == EINTR) continue;
    if (ready == -1) return fail(errno, message, "poll");
    if (ready == 0) return fail(ETIMEDOUT, message, "waiting for the back end's reply");
    const ssize_t n = ::recv(fd_, p, len, 0);
    if (n == -1 && errno == EINTR) continue;
    if (n == -1) return fail(errno, message, "reading the back end's reply");
    if (n == 0) return fail(ECONNRESET, message, "the back end closed the connection");
    p += n;
    len -= size_t(n);
  }
  return 0;
}

int Channel::read_reply(Request req, std::vector<uint8_t>& payload, std::string& message) {
  Header h;
  if (const int r = read_exact(&h, sizeof h, message); r) {
    message = describe(req) + ": " + message;
    return r;
  }
  if (h.request != uint32_t(req) || !(h.flags & header_flag::reply) || h.size > max_payload)
    return fail(EPROTO, message, describe(req) + ": unexpected reply from the back end");
  payload.resize(h.size);
  if (const int r = read_exact(payload.data(), h.size, message); r) {
    message = describe(req) + ": " + message;
    return r;
  }
  return 0;
}

int Channel::send(Request req, std::span<const uint8_t> payload, std::span<const int> fds,
                  std::string& message) {
  const uint32_t flags = reply_ack_ ? header_flag::need_reply : 0;
  if (const int r = write_message(req, flags, payload, fds, message); r) return r;
  if (!reply_ack_) return 0;
  std::vector<uint8_t> ack;
  if (const int r = read_reply(req, ack, message); r) return r;
  uint64_t status = 1;
  if (ack.size() == sizeof status) std::memcpy(&status, ack.data(), sizeof status);
  if (status != 0) return fail(EIO, message, "the back end refused " + describe(req));
  return 0;
}

int Channel::call(Request req, std::span<const uint8_t> payload, std::vector<uint8_t>& reply,
                  std::string& message) {
  if (const int r = write_message(req, 0, payload, {}, message); r) return r;
  return read_reply(req, reply, message);
}

int Channel::get_u64(Request req, uint64_t& value, std::string& message) {
  std::vector<uint8_t> reply;
  if (const int r = call(req, {}, reply, message); r) return r;
  if (reply.size() != sizeof value)
    return fail(EPROTO, message, describe(req) + ": reply of the wrong size");
  std::memcpy(&value, reply.data(), sizeof value);
  return 0;
}

int Channel::set_u64(Request req, uint64_t value, std::string& message,
                     std::span<const int> fds) {
  return send(req, bytes_of(value), fds, message);
}

}  // namespace blkio::vhost_user
