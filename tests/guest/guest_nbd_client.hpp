// A minimal NBD client over a Unix socket for the guest test tier: the
// guest has no libnbd or Python, so this speaks the protocol itself
// (fixed newstyle handshake, NBD_OPT_GO, simple replies).  It knows only
// what the self-checks and the QD32 read benchmark need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace guest {

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class NbdClient {
 public:
  // Connects and negotiates; throws ProtocolError (or a system error).
  explicit NbdClient(const std::string& socket_path);
  ~NbdClient();
  NbdClient(const NbdClient&) = delete;
  NbdClient& operator=(const NbdClient&) = delete;

  uint64_t size() const { return size_; }
  uint16_t transmission_flags() const { return flags_; }

  // Each returns the NBD error of the reply (0 on success).
  uint32_t read(uint64_t offset, void* buffer, uint32_t length);
  uint32_t write(uint64_t offset, const void* buffer, uint32_t length, uint16_t flags = 0);
  uint32_t flush();
  uint32_t trim(uint64_t offset, uint32_t length);
  uint32_t zero(uint64_t offset, uint32_t length, uint16_t flags = 0);

  // Pipelined reads for the benchmark: send one, and receive one reply
  // (any order) into a scratch buffer; returns the reply's cookie.
  void send_read(uint64_t cookie, uint64_t offset, uint32_t length);
  uint64_t receive_read_reply(uint32_t length);

 private:
  void negotiate();
  void send_request(uint16_t type, uint16_t flags, uint64_t cookie, uint64_t offset,
                    uint32_t length, const void* payload);
  // Receives one simple reply header; returns its error, sets *cookie.
  uint32_t receive_reply(uint64_t* cookie);
  uint32_t transact(uint16_t type, uint16_t flags, uint64_t offset, uint32_t length,
                    const void* payload, void* read_into);
  void send_all(const void* data, size_t length);
  void receive_all(void* data, size_t length);

  int fd_ = -1;
  uint64_t size_ = 0;
  uint16_t flags_ = 0;
  uint64_t next_cookie_ = 1;
  std::vector<unsigned char> scratch_;
};

}  // namespace guest
