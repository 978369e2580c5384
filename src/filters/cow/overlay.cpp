#include "overlay.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

std::string Overlay::directory() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/var/tmp";
}

bool Overlay::directory_in_memory() {
  struct statfs fs;
  return statfs(directory().c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

Overlay::Overlay(uint64_t size, uint32_t block_size)
    : size_(size), block_size_(block_size), states_((size + block_size - 1) / block_size),
      stripes_(256) {
  std::string path = directory() + "/nbdkit-cow-XXXXXX";
  fd_ = mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error("cow: creating the overlay " + path + ": " + strerror(errno), errno);
  unlink(path.c_str());
  if (ftruncate(fd_, static_cast<off_t>(blocks() * block_size_)) != 0) {
    const int err = errno;
    close(fd_);
    throw Error("cow: sizing the overlay: " + std::string(strerror(err)), err);
  }
}

Overlay::~Overlay() {
  if (fd_ >= 0) close(fd_);
}

int Overlay::read(void* buf, size_t count, uint64_t offset) const {
  auto* p = static_cast<char*>(buf);
  while (count > 0) {
    const ssize_t n = ::pread(fd_, p, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) {  // cannot happen within the file's size; be safe
      std::memset(p, 0, count);
      return 0;
    }
    p += n, offset += uint64_t(n), count -= size_t(n);
  }
  return 0;
}

int Overlay::write(const void* buf, size_t count, uint64_t offset) {
  const auto* p = static_cast<const char*>(buf);
  while (count > 0) {
    const ssize_t n = ::pwrite(fd_, p, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    p += n, offset += uint64_t(n), count -= size_t(n);
  }
  return 0;
}

void Overlay::discard(uint64_t offset, uint64_t count) {
  // Only space is at stake: a file system without hole punching keeps it.
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                static_cast<off_t>(count)) != 0)
    debug("cow: punching a hole in the overlay: %s", strerror(errno));
}

}  // namespace nbdkit::filters
