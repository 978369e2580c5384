#include "full_io.hpp"

#include <unistd.h>

#include <cerrno>

namespace file_plugin {

int read_all(int fd, void* buf, uint32_t count, uint64_t offset) {
  auto* p = static_cast<unsigned char*>(buf);
  while (count > 0) {
    const ssize_t n = ::pread(fd, p, count, off_t(offset));
    if (n == -1) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // the file is shorter than when it was opened
    p += n;
    count -= uint32_t(n);
    offset += uint64_t(n);
  }
  return 0;
}

int write_all(int fd, const void* buf, uint32_t count, uint64_t offset) {
  auto* p = static_cast<const unsigned char*>(buf);
  while (count > 0) {
    const ssize_t n = ::pwrite(fd, p, count, off_t(offset));
    if (n == -1) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    count -= uint32_t(n);
    offset += uint64_t(n);
  }
  return 0;
}

}  // namespace file_plugin
