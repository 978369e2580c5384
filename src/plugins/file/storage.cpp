#include "storage.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nbdkit/plugin.hpp>

namespace file_plugin {

namespace {

[[noreturn]] void fail(const std::string& name, const char* what) {
  const int err = errno;
  throw nbdkit::Error(name + ": " + what + ": " + std::strerror(err), err);
}

// /sys/dev/block/MAJ:MIN/queue/rotational; a partition has no queue of its
// own, its parent disk (the directory above) has.
bool device_is_rotational(dev_t device) {
  const std::string dir =
      "/sys/dev/block/" + std::to_string(major(device)) + ":" + std::to_string(minor(device));
  for (const char* queue : {"/queue/rotational", "/../queue/rotational"}) {
    std::ifstream in(dir + queue);
    int flag;
    if (in >> flag) return flag != 0;
  }
  return false;
}

void describe_block_device(int fd, const std::string& name, const struct stat& st,
                           Storage& out) {
  out.is_block_device = true;
  if (ioctl(fd, BLKGETSIZE64, &out.size) == -1) fail(name, "BLKGETSIZE64");
  int logical = 512;
  unsigned physical = 4096;
  if (ioctl(fd, BLKSSZGET, &logical) == -1) fail(name, "BLKSSZGET");
  if (ioctl(fd, BLKPBSZGET, &physical) == -1) physical = unsigned(logical);
  out.preferred_block = std::max(physical, 4096u);
  out.sector_size = uint32_t(logical);
  out.rotational = device_is_rotational(st.st_rdev);
}

void describe_regular_file(const struct stat& st, Storage& out) {
  out.size = uint64_t(st.st_size);
  if (st.st_blksize > 0) out.preferred_block = std::max(uint32_t(st.st_blksize), 4096u);
}

}  // namespace

Storage describe_storage(int fd, const std::string& name) {
  struct stat st;
  if (fstat(fd, &st) == -1) fail(name, "fstat");
  const std::string bad_type = unsupported_file_type(st.st_mode);
  if (!bad_type.empty()) throw nbdkit::Error(name + ": " + bad_type);
  Storage out;
  if (S_ISBLK(st.st_mode))
    describe_block_device(fd, name, st, out);
  else
    describe_regular_file(st, out);
  return out;
}

bool is_memory_backed(int fd) {
  struct statfs fs;
  if (fstatfs(fd, &fs) == -1) return false;
  return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

std::string unsupported_file_type(mode_t mode) {
  if (S_ISREG(mode) || S_ISBLK(mode)) return {};
  if (S_ISDIR(mode)) return "is a directory, not a file (use dir= to serve the files in it)";
  return "is not a regular file or block device";
}

}  // namespace file_plugin
