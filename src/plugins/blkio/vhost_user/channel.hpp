// One vhost-user connection to a back end: sends requests (with file
// descriptors as SCM_RIGHTS) and reads the replies.  With REPLY_ACK
// negotiated every request asks for an acknowledgement, so a refused
// request is reported where it happens.  Every wait is bounded: a back end
// that stops answering is an error, not a hang.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vhost_user/protocol.hpp"

namespace blkio::vhost_user {

class Channel {
 public:
  Channel() = default;
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Every call returns 0 or a negative errno and, on failure, sets
  // `message` to what failed.
  // Connects to the back end's Unix socket.
  int connect(const std::string& path, std::string& message);
  // Adopts a connected socket (tests use a socketpair).
  void adopt(int fd) { fd_ = fd; }
  int fd() const { return fd_; }
  void close();

  void set_reply_ack(bool on) { reply_ack_ = on; }
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }

  // A request without a reply payload (acknowledged if REPLY_ACK is on).
  int send(Request req, std::span<const uint8_t> payload, std::span<const int> fds,
           std::string& message);
  // A request whose reply carries a payload; `reply` gets its bytes.
  int call(Request req, std::span<const uint8_t> payload, std::vector<uint8_t>& reply,
           std::string& message);

  // Typed helpers over send/call.
  int get_u64(Request req, uint64_t& value, std::string& message);
  int set_u64(Request req, uint64_t value, std::string& message, std::span<const int> fds = {});

 private:
  int write_message(Request req, uint32_t flags, std::span<const uint8_t> payload,
                    std::span<const int> fds, std::string& message);
  int read_reply(Request req, std::vector<uint8_t>& payload, std::string& message);
  int read_exact(void* buf, size_t len, std::string& message);

  int fd_ = -1;
  bool reply_ack_ = false;
  int timeout_ms_ = 30000;
};

template <typename T>
std::span<const uint8_t> bytes_of(const T& value) {
  return {reinterpret_cast<const uint8_t*>(&value), sizeof value};
}

}  // namespace blkio::vhost_user
