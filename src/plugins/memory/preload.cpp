#include "preload.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace memory {

namespace {

class File {
 public:
  explicit File(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw nbdkit::Error("preload: " + path + ": " + what + ": " + std::strerror(err), err);
}

}  // namespace

PreloadResult preload_image(Allocator& disk, uint64_t disk_size, const std::string& path,
                            const PreloadProgress& progress) {
  File file(path);
  if (file.fd() < 0) fail(path, "cannot open", errno);
  struct stat status;
  if (fstat(file.fd(), &status) == -1) fail(path, "stat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw nbdkit::Error("preload: " + path + ": not a regular file");
  }
  const uint64_t image_size = static_cast<uint64_t>(status.st_size);
  if (image_size > disk_size) {
    throw nbdkit::Error("preload: " + path + " is " + std::to_string(image_size) +
                        " bytes, larger than the disk (size=" + std::to_string(disk_size) + ")");
  }

  const uint64_t block = disk.page_size();
  // A whole number of blocks, so block boundaries in the buffer are block
  // boundaries on the disk.
  const uint64_t buffer_size = (uint64_t{4} << 20) / block * block;
  std::vector<char> buffer(buffer_size);

  uint64_t data_bytes = 0;
  // Writes one run of non-zero blocks.
  auto store = [&](const char* data, uint64_t length, uint64_t offset) {
    disk.write(data, length, offset);
    data_bytes += length;
  };
  uint64_t position = 0;
  while (position < image_size) {
    off_t data = lseek(file.fd(), static_cast<off_t>(position), SEEK_DATA);
    if (data == -1) {
      if (errno == ENXIO) break;  // only a hole remains
      fail(path, "seek", errno);
    }
    off_t hole = lseek(file.fd(), data, SEEK_HOLE);
    if (hole == -1) fail(path, "seek", errno);
    // Start at a block boundary: the blocks are then checked whole.
    uint64_t offset = static_cast<uint64_t>(data) / block * block;
    const uint64_t data_end = static_cast<uint64_t>(hole);
    while (offset < data_end) {
      const uint64_t want = std::min(buffer_size, data_end - offset);
      const ssize_t got = pread(file.fd(), buffer.data(), want, static_cast<off_t>(offset));
      if (got == -1) {
        if (errno == EINTR) continue;
        fail(path, "read", errno);
      }
      if (got == 0) {
        throw nbdkit::Error("preload: " + path + ": file shrank while being read");
      }
      const uint64_t length = static_cast<uint64_t>(got);
      // Write runs of non-zero blocks.
      uint64_t run_start = 0;
      for (uint64_t at = 0; at < length; at += block) {
        const uint64_t piece = std::min(block, length - at);
        if (is_all_zero(buffer.data() + at, piece)) {
          if (at > run_start) store(buffer.data() + run_start, at - run_start, offset + run_start);
          run_start = at + piece;
        }
      }
      if (length > run_start) store(buffer.data() + run_start, length - run_start, offset + run_start);
      offset += length;
      if (progress) progress(offset, image_size);
    }
    position = data_end;
    if (progress) progress(position, image_size);
  }
  return {image_size, data_bytes};
}

}  // namespace memory
