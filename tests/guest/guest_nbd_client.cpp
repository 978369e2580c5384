// The guest tier's NBD client (see guest_nbd_client.hpp).  Wire constants
// and big-endian helpers come from the server's own protocol header.
#include "guest_nbd_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "nbd.hpp"

namespace guest {

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

NbdClient::NbdClient(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) throw ProtocolError("socket path too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    const int saved = errno;
    ::close(fd_);
    errno = saved;
    throw_errno("connect");
  }
  try {
    negotiate();
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

NbdClient::~NbdClient() {
  // NBD_CMD_DISC lets the server finish cleanly; errors no longer matter.
  try {
    send_request(nbd::kCmdDisc, 0, next_cookie_++, 0, 0, nullptr);
  } catch (...) {
  }
  ::close(fd_);
}

void NbdClient::send_all(const void* data, size_t length) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (length > 0) {
    const ssize_t n = ::send(fd_, p, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("send");
    p += n;
    length -= size_t(n);
  }
}

void NbdClient::receive_all(void* data, size_t length) {
  auto* p = static_cast<unsigned char*>(data);
  while (length > 0) {
    const ssize_t n = ::recv(fd_, p, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("recv");
    if (n == 0) throw ProtocolError("server closed the connection");
    p += n;
    length -= size_t(n);
  }
}

// Fixed newstyle, then NBD_OPT_GO for the default export ("").  The
// server's NBD_INFO_EXPORT reply gives the size and transmission flags.
void NbdClient::negotiate() {
  unsigned char greeting[18];
  receive_all(greeting, sizeof greeting);
  if (nbd::get64(greeting) != nbd::kNbdMagic || nbd::get64(greeting + 8) != nbd::kOptionMagic)
    throw ProtocolError("not a newstyle NBD server");
  const uint16_t server_flags = nbd::get16(greeting + 16);
  if (!(server_flags & nbd::kFlagFixedNewstyle)) throw ProtocolError("server is not fixed newstyle");
  unsigned char client_flags[4];
  nbd::put32(client_flags, nbd::kClientFixedNewstyle | (server_flags & nbd::kFlagNoZeroes));
  send_all(client_flags, sizeof client_flags);

  unsigned char option[16 + 6] = {};
  nbd::put64(option, nbd::kOptionMagic);
  nbd::put32(option + 8, nbd::kOptGo);
  nbd::put32(option + 12, 6);  // name length (0) + number of info requests (0)
  send_all(option, sizeof option);

  for (int replies = 0; replies < 64; ++replies) {
    unsigned char header[20];
    receive_all(header, sizeof header);
    if (nbd::get64(header) != nbd::kOptionReplyMagic) throw ProtocolError("bad option reply magic");
    const uint32_t type = nbd::get32(header + 12);
    std::vector<unsigned char> data(nbd::get32(header + 16));
    if (data.size() > 65536) throw ProtocolError("option reply too long");
    receive_all(data.data(), data.size());
    if (type == nbd::kRepAck) {
      if (size_ == 0 && flags_ == 0) throw ProtocolError("NBD_OPT_GO without NBD_INFO_EXPORT");
      return;
    }
    if (type & nbd::kRepFlagError)
      throw ProtocolError("NBD_OPT_GO refused: " + std::string(data.begin(), data.end()));
    if (type == nbd::kRepInfo && data.size() >= 12 && nbd::get16(data.data()) == nbd::kInfoExport) {
      size_ = nbd::get64(data.data() + 2);
      flags_ = nbd::get16(data.data() + 10);
    }
  }
  throw ProtocolError("too many option replies");
}

void NbdClient::send_request(uint16_t type, uint16_t flags, uint64_t cookie, uint64_t offset,
                             uint32_t length, const void* payload) {
  unsigned char header[nbd::kRequestSize];
  nbd::put32(header, nbd::kRequestMagic);
  nbd::put16(header + 4, flags);
  nbd::put16(header + 6, type);
  nbd::put64(header + 8, cookie);
  nbd::put64(header + 16, offset);
  nbd::put32(header + 24, length);
  send_all(header, sizeof header);
  if (payload != nullptr) send_all(payload, length);
}

uint32_t NbdClient::receive_reply(uint64_t* cookie) {
  unsigned char header[nbd::kSimpleReplySize];
  receive_all(header, sizeof header);
  if (nbd::get32(header) != nbd::kSimpleReplyMagic) throw ProtocolError("bad reply magic");
  *cookie = nbd::get64(header + 8);
  return nbd::get32(header + 4);
}

uint32_t NbdClient::transact(uint16_t type, uint16_t flags, uint64_t offset, uint32_t length,
                             const void* payload, void* read_into) {
  const uint64_t cookie = next_cookie_++;
  send_request(type, flags, cookie, offset, length, payload);
  uint64_t replied = 0;
  const uint32_t error = receive_reply(&replied);
  if (replied != cookie) throw ProtocolError("reply to an unexpected cookie");
  if (error == 0 && read_into != nullptr) receive_all(read_into, length);
  return error;
}

uint32_t NbdClient::read(uint64_t offset, void* buffer, uint32_t length) {
  return transact(nbd::kCmdRead, 0, offset, length, nullptr, buffer);
}

uint32_t NbdClient::write(uint64_t offset, const void* buffer, uint32_t length, uint16_t flags) {
  return transact(nbd::kCmdWrite, flags, offset, length, buffer, nullptr);
}

uint32_t NbdClient::flush() { return transact(nbd::kCmdFlush, 0, 0, 0, nullptr, nullptr); }

uint32_t NbdClient::trim(uint64_t offset, uint32_t length) {
  return transact(nbd::kCmdTrim, 0, offset, length, nullptr, nullptr);
}

uint32_t NbdClient::zero(uint64_t offset, uint32_t length, uint16_t flags) {
  return transact(nbd::kCmdWriteZeroes, flags, offset, length, nullptr, nullptr);
}

void NbdClient::send_read(uint64_t cookie, uint64_t offset, uint32_t length) {
  send_request(nbd::kCmdRead, 0, cookie, offset, length, nullptr);
}

uint64_t NbdClient::receive_read_reply(uint32_t length) {
  uint64_t cookie = 0;
  const uint32_t error = receive_reply(&cookie);
  if (error != 0) throw ProtocolError("read failed with NBD error " + std::to_string(error));
  scratch_.resize(length);
  receive_all(scratch_.data(), length);
  return cookie;
}

}  // namespace guest
