#include "direct_io.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace file_plugin {

namespace {

// Page alignment satisfies every device's O_DIRECT memory alignment.
constexpr size_t kBounceAlign = 4096;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// One per thread: requests on a thread run one at a time, and worker
// threads live as long as their connection.
class BounceBuffer {
 public:
  // nullptr when the allocation fails.
  unsigned char* get(size_t size) {
    if (size > capacity_) {
      const size_t rounded = (size + kBounceAlign - 1) & ~(kBounceAlign - 1);
      memory_.reset(static_cast<unsigned char*>(std::aligned_alloc(kBounceAlign, rounded)));
      capacity_ = memory_ ? rounded : 0;
    }
    return memory_.get();
  }

 private:
  std::unique_ptr<unsigned char, FreeDeleter> memory_;
  size_t capacity_ = 0;
};

thread_local BounceBuffer bounce;

}  // namespace

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

int DirectIo::pread(void* buf, uint32_t count, uint64_t offset) const {
  if (aligned(buf)) return read_all(fd_, buf, count, offset);
  unsigned char* bounce_buf = bounce.get(count);
  if (!bounce_buf) return ENOMEM;
  if (int r = read_all(fd_, bounce_buf, count, offset)) return r;
  std::memcpy(buf, bounce_buf, count);
  return 0;
}

int DirectIo::pwrite(const void* buf, uint32_t count, uint64_t offset) const {
  if (aligned(buf)) return write_all(fd_, buf, count, offset);
  unsigned char* bounce_buf = bounce.get(count);
  if (!bounce_buf) return ENOMEM;
  std::memcpy(bounce_buf, buf, count);
  return write_all(fd_, bounce_buf, count, offset);
}

}  // namespace file_plugin
