#include "block_file.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

std::string BlockFile::directory() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/var/tmp";
}

bool BlockFile::directory_in_memory() {
  struct statfs fs;
  return statfs(directory().c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

uint32_t BlockFile::directory_block_size() {
  struct statvfs fs;
  if (statvfs(directory().c_str(), &fs) != 0 || fs.f_bsize == 0 || fs.f_bsize > (1u << 30)) return 4096;
  return static_cast<uint32_t>(fs.f_bsize);
}

uint32_t BlockFile::parse_block_size(std::string_view key, std::string_view value) {
  const uint64_t n = parse_size(key, value);
  if (n < 4096 || n > 1024 * 1024 * 1024 || (n & (n - 1)) != 0)
    throw Error(std::string(key) + " must be a power of 2 between 4K and 1G");
  return static_cast<uint32_t>(n);
}

BlockFile::BlockFile(std::string_view owner, uint64_t size, uint32_t block_size)
    : owner_(owner), size_(size), block_size_(block_size),
      states_((size + block_size - 1) / block_size), stripes_(256) {
  std::string path = directory() + "/nbdkit-" + owner_ + "-XXXXXX";
  fd_ = mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error(owner_ + ": creating the temporary file " + path + ": " + strerror(errno), errno);
  unlink(path.c_str());
  if (ftruncate(fd_, static_cast<off_t>(blocks() * block_size_)) != 0) {
    const int err = errno;
    close(fd_);
    throw Error(owner_ + ": sizing the temporary file: " + std::string(strerror(err)), err);
  }
}

BlockFile::~BlockFile() {
  if (fd_ >= 0) close(fd_);
}

int BlockFile::read(void* buf, size_t count, uint64_t offset) const {
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

int BlockFile::write(const void* buf, size_t count, uint64_t offset) {
  const auto* p = static_cast<const char*>(buf);
  while (count > 0) {
    const ssize_t n = ::pwrite(fd_, p, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    p += n, offset += uint64_t(n), count -= size_t(n);
  }
  return 0;
}

void BlockFile::discard(uint64_t offset, uint64_t count) {
  // Only space is at stake: a file system without hole punching keeps it.
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                static_cast<off_t>(count)) != 0)
    debug("%s: punching a hole in the temporary file: %s", owner_.c_str(), strerror(errno));
}

void CopyOnRead::parse(std::string_view key, std::string_view value) {
  if (!value.empty() && value[0] == '/')
    path = value;
  else
    on = parse_bool(key, value);
}

bool CopyOnRead::active() const { return path.empty() ? on : access(path.c_str(), F_OK) == 0; }

int add_extents_below(Context& below, uint64_t offset, uint64_t count, uint32_t flags, ExtentList& out) {
  if (!below.can_extents()) return out.add(offset, count, extent::data);
  ExtentList part(offset, offset + count);
  if (const int err = below.extents(static_cast<uint32_t>(count), offset, flags & ~flags::req_one, part))
    return err;
  for (const auto& e : part.extents())
    if (const int err = out.add(e.offset, e.length, e.type)) return err;
  // Should the layer below stop short, the rest is reported as data.
  const uint64_t done = part.next_offset();
  return done < offset + count ? out.add(done, offset + count - done, extent::data) : 0;
}

namespace {
thread_local std::vector<char> thread_scratch;
thread_local bool thread_scratch_busy = false;
}  // namespace

ScratchBlock::ScratchBlock(size_t size) : owner_(!thread_scratch_busy) {
  if (owner_) {
    if (thread_scratch.size() < size) thread_scratch.resize(size);
    data_ = thread_scratch.data();
    thread_scratch_busy = true;
  } else {
    nested_.resize(size);
    data_ = nested_.data();
  }
}

ScratchBlock::~ScratchBlock() {
  if (owner_) thread_scratch_busy = false;
}

}  // namespace nbdkit::filters
