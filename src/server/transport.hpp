// The byte stream a connection speaks over.  The handshake may replace a
// plain transport with a TLS one (NBD_OPT_STARTTLS), so nothing above this
// interface knows which it has.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>

namespace nbdkit::server {

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads up to `size` bytes; returns the count (> 0), 0 at end of stream,
  // or -1 with errno set.  Retries EINTR itself.
  virtual ssize_t read_some(void* buf, size_t size) = 0;

  // Writes every byte of the vector or fails: returns 0, or -1 with errno set.
  // `more` hints that another write follows at once (MSG_MORE / corking).
  virtual int write_all(const struct iovec* iov, int iovcnt, bool more = false) = 0;

  // True when read_some() would return without waiting on the socket
  // (bytes are buffered inside the transport, e.g. decrypted TLS records).
  virtual bool has_buffered_input() const { return false; }

  // Stop sending (and tell the peer so) without closing the descriptor.
  virtual void shutdown_write() = 0;

  virtual bool is_tls() const { return false; }

  // The descriptor to poll on; -1 if none.
  virtual int fd() const = 0;

  // Reads exactly `size` bytes: 0 on success, -1 on error or short stream
  // (errno is ECONNRESET for a stream that ended early).
  int read_exact(void* buf, size_t size);
  int write_all(const void* buf, size_t size, bool more = false);
};

// A socket, pipe pair or stdin/stdout.  With distinct read and write
// descriptors (`-s`), reads use in_fd and writes out_fd.
class PlainTransport final : public Transport {
 public:
  PlainTransport(int in_fd, int out_fd, bool owns_fds);
  ~PlainTransport() override;

  ssize_t read_some(void* buf, size_t size) override;
  int write_all(const struct iovec* iov, int iovcnt, bool more = false) override;
  using Transport::write_all;
  void shutdown_write() override;
  int fd() const override { return in_fd_; }

  // Gives up ownership of the descriptors (for TLS, which takes them over).
  void release() { owns_fds_ = false; }
  int out_fd() const { return out_fd_; }

 private:
  int in_fd_, out_fd_;
  bool owns_fds_;
  bool is_socket_;
};

}  // namespace nbdkit::server
