// The io_uring driver: a regular file or a block device through Linux's
// io_uring, with libblkio's io_uring properties (path, fd, direct,
// num-entries) and the limits it derives from the file and sysfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../driver.hpp"
#include "../open_target.hpp"
#include "../sysfs.hpp"
#include "io_uring_queue.hpp"
#include "ring_driver.hpp"

namespace blkio {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

class IoUringDriver final : public RingDriver {
 public:
  IoUringDriver() : RingDriver("io_uring") {
    table().add_variable("direct", direct_, always, in_created);
    info_.can_add_queues = true;
  }

 protected:
  void do_connect() override;
  std::unique_ptr<Queue> make_queue(unsigned entries) override {
    target_.read_only = read_only_;
    return std::make_unique<IoUringQueue>(target_, entries);
  }

 private:
  int open_target();
  void read_limits(const struct stat& st, int fd);

  bool direct_ = false;
  IoUringTarget target_;
};

// The descriptor to serve: `path` opened as asked, or `fd` (whose own
// flags then say whether it is direct and read-only).
int IoUringDriver::open_target() {
  const OpenedFile file = open_path_or_fd(path_, fd_, direct_ ? O_DIRECT : 0, read_only_);
  if (file.fd == fd_) direct_ = (file.status_flags & O_DIRECT) != 0;
  return file.fd;
}

void IoUringDriver::do_connect() {
  const int fd = open_target();
  const auto fail = [&](int err, const std::string& message) {
    if (fd != fd_) ::close(fd);
    throw Error(err, message);
  };
  struct stat st;
  if (::fstat(fd, &st) == -1) fail(errno, "fstat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    fail(EINVAL, "The file must be a block device or a regular file");
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end == -1) fail(errno, "lseek: " + errno_text(errno));
  info_.capacity = uint64_t(end);
  read_limits(st, fd);
  own(fd);
  target_.fd = fd;
  target_.alignment = uint32_t(info_.request_alignment);
  target_.buf_alignment = uint32_t(info_.buf_alignment);
  target_.can_grow = info_.can_grow;
}

// libblkio's derivations: alignment only matters with O_DIRECT; a block
// device's limits come from its sysfs queue, a file's from the device
// under its file system.
void IoUringDriver::read_limits(const struct stat& st, int fd) {
  const bool device = S_ISBLK(st.st_mode);
  const std::string queue = sysfs_queue_dir(device ? st.st_rdev : st.st_dev);
  const int32_t page = int32_t(::sysconf(_SC_PAGESIZE));
  const auto number = [&](const char* name, uint64_t fallback) {
    return read_sysfs_number(queue, name).value_or(fallback);
  };
  DeviceInfo& i = info_;
  i.request_alignment = direct_ ? int32_t(number("logical_block_size", uint64_t(page))) : 1;
  if (device) {
    i.optimal_io_alignment = int32_t(number("physical_block_size", 512));
    i.optimal_io_size = int32_t(number("optimal_io_size", 0));
    i.flush_needed = !direct_ || read_sysfs(queue, "write_cache").value_or("") == "write back";
  } else {
    struct statfs fs;
    const int32_t bsize = ::fstatfs(fd, &fs) == 0 ? int32_t(fs.f_bsize) : page;
    i.optimal_io_alignment = std::max(bsize, i.request_alignment);
    i.flush_needed = true;
  }
  i.optimal_io_alignment = std::max(i.optimal_io_alignment, i.request_alignment);
  i.supports_fua_natively = number("fua", 0) == 1;
  i.can_grow = !device;
  i.buf_alignment = i.request_alignment;
  i.mem_region_alignment = uint64_t(i.request_alignment);
  i.optimal_buf_alignment = page;
  i.max_queues = INT32_MAX;
  i.max_segments = IOV_MAX;
  i.discard_alignment = i.request_alignment;
}

}  // namespace

BLKIO_REGISTER_DRIVER("io_uring", IoUringDriver);

}  // namespace blkio
