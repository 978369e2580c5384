#include "transport.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace nbdkit::server {

int Transport::read_exact(void* buf, size_t size) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = read_some(p, size);
    if (n < 0) return -1;
    if (n == 0) {
      errno = ECONNRESET;
      return -1;
    }
    p += n;
    size -= size_t(n);
  }
  return 0;
}

int Transport::write_all(const void* buf, size_t size, bool more) {
  struct iovec iov = {const_cast<void*>(buf), size};
  return write_all(&iov, 1, more);
}

namespace {

bool is_socket(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

PlainTransport::PlainTransport(int in_fd, int out_fd, bool owns_fds)
    : in_fd_(in_fd), out_fd_(out_fd), owns_fds_(owns_fds), is_socket_(is_socket(out_fd)) {}

PlainTransport::~PlainTransport() {
  if (!owns_fds_) return;
  close(in_fd_);
  if (out_fd_ != in_fd_) close(out_fd_);
}

ssize_t PlainTransport::read_some(void* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(in_fd_, buf, size);
    if (n >= 0 || errno != EINTR) return n;
  }
}

int PlainTransport::write_all(const struct iovec* iov_in, int iovcnt, bool more) {
  // Partial writes advance through a local copy of the vector.
  constexpr int kMaxIov = 64;
  struct iovec local[kMaxIov];
  while (iovcnt > 0) {
    const int batch = iovcnt < kMaxIov ? iovcnt : kMaxIov;
    for (int i = 0; i < batch; ++i) local[i] = iov_in[i];
    const bool more_after_batch = more || batch < iovcnt;
    struct iovec* iov = local;
    int count = batch;
    while (count > 0) {
      ssize_t n;
      if (is_socket_) {
        struct msghdr msg = {};
        msg.msg_iov = iov;
        msg.msg_iovlen = size_t(count);
        n = sendmsg(out_fd_, &msg, MSG_NOSIGNAL | (more_after_batch ? MSG_MORE : 0));
      } else {
        n = writev(out_fd_, iov, count);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      size_t written = size_t(n);
      while (count > 0 && written >= iov->iov_len) {
        written -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + written;
        iov->iov_len -= written;
      }
    }
    iov_in += batch;
    iovcnt -= batch;
  }
  return 0;
}

void PlainTransport::shutdown_write() {
  if (is_socket_) ::shutdown(out_fd_, SHUT_WR);
}

}  // namespace nbdkit::server
