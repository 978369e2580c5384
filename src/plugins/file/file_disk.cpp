#include "file_disk.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "full_io.hpp"

NBDKIT_DEBUG_FLAG("file", "zero");

namespace file_plugin {

namespace {

constexpr int kPunchHole = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
constexpr int kZeroRange = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

int fallocate_errno(int fd, int mode, uint64_t offset, uint32_t count) {
  while (::fallocate(fd, mode, off_t(offset), off_t(count)) == -1) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

bool not_supported(int err) { return err == EOPNOTSUPP || err == ENOSYS; }

// BLKZEROOUT and BLKDISCARD take whole sectors.
bool sector_aligned(uint64_t offset, uint32_t count, uint32_t sector) {
  return ((offset | count) & (sector - 1)) == 0;
}

int device_ioctl(int fd, unsigned long request, uint64_t offset, uint32_t count) {
  uint64_t range[2] = {offset, count};
  return ioctl(fd, request, range) == -1 ? errno : 0;
}

}  // namespace

FileDisk::FileDisk(OpenFile file, CacheMode cache) : file_(std::move(file)), cache_(cache) {
  try {
    storage_ = describe_storage(file_.fd, file_.name);
  } catch (...) {
    if (file_.owned) ::close(file_.fd);
    throw;
  }
  if (!storage_.is_block_device)
    can_seek_holes_ = ::lseek(file_.fd, 0, SEEK_DATA) != -1 || errno == ENXIO;
}

FileDisk::~FileDisk() {
  if (cache_ == CacheMode::none) write_eviction_.drain(file_.fd);
  if (file_.owned) ::close(file_.fd);
}

std::optional<nbdkit::BlockSize> FileDisk::block_size() {
  return nbdkit::BlockSize{1, storage_.preferred_block, 0xffffffff};
}

int FileDisk::pread(void* buf, uint32_t count, uint64_t offset, uint32_t) {
  const int r = read_all(file_.fd, buf, count, offset);
  if (r == 0 && cache_ == CacheMode::none) evict(count, offset, false);
  return r;
}

int FileDisk::pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) {
  if (int r = write_all(file_.fd, buf, count, offset)) return r;
  if (cache_ == CacheMode::none) evict(count, offset, true);
  return (flags & nbdkit::flags::fua) ? flush(0) : 0;
}

int FileDisk::flush(uint32_t) { return ::fdatasync(file_.fd) == -1 ? errno : 0; }

int FileDisk::punch_hole(uint32_t count, uint64_t offset) {
  if (!can_punch_.load(std::memory_order_relaxed)) return EOPNOTSUPP;
  const int r = fallocate_errno(file_.fd, kPunchHole, offset, count);
  if (not_supported(r)) can_punch_.store(false, std::memory_order_relaxed);
  return r;
}

int FileDisk::trim(uint32_t count, uint64_t offset, uint32_t flags) {
  int r;
  if (storage_.is_block_device) {
    // Discard the whole sectors inside the range; the rest stays as it is.
    const uint32_t sector = storage_.sector_size;
    const uint64_t first = (offset + sector - 1) / sector * sector;
    const uint64_t last = (offset + count) / sector * sector;
    r = last > first ? device_ioctl(file_.fd, BLKDISCARD, first, uint32_t(last - first)) : 0;
  } else {
    r = punch_hole(count, offset);
  }
  // Trimming is advisory: where the kernel cannot do it, nothing changes.
  if (not_supported(r) || r == EINVAL) r = 0;
  if (r == 0 && (flags & nbdkit::flags::fua)) r = flush(0);
  return r;
}

int FileDisk::zero(uint32_t count, uint64_t offset, uint32_t flags) {
  const int r = storage_.is_block_device ? zero_device(count, offset, flags)
                                         : zero_file(count, offset, flags);
  if (nbdkit::debug_flag("file", "zero"))
    nbdkit::debug("zero count=%u offset=%llu flags=0x%x: %s", count,
                  static_cast<unsigned long long>(offset), flags, r ? std::strerror(r) : "done");
  if (r == 0 && (flags & nbdkit::flags::fua)) return flush(0);
  return r;
}

// Each way below changes only the file's block map, which is fast.  When
// none works the caller gets ENOTSUP: the server then writes zeroes, or
// fails a fast-zero request as the client asked.
int FileDisk::zero_file(uint32_t count, uint64_t offset, uint32_t flags) {
  if (flags & nbdkit::flags::may_trim) {
    const int r = punch_hole(count, offset);
    if (!not_supported(r)) return r;
  }
  if (can_zero_range_.load(std::memory_order_relaxed)) {
    const int r = fallocate_errno(file_.fd, kZeroRange, offset, count);
    if (!not_supported(r)) return r;
    can_zero_range_.store(false, std::memory_order_relaxed);
  }
  // No ZERO_RANGE (tmpfs): punch, then allocate the range again since the
  // client asked for no hole.
  if (int r = punch_hole(count, offset); r != 0) return not_supported(r) ? ENOTSUP : r;
  const int r = fallocate_errno(file_.fd, 0, offset, count);
  return not_supported(r) ? 0 : r;  // a hole reads as zeroes all the same
}

int FileDisk::zero_device(uint32_t count, uint64_t offset, uint32_t flags) {
  // On a block device PUNCH_HOLE only succeeds when the device zeroes by
  // unmapping, without falling back to writing.
  if (flags & nbdkit::flags::may_trim) {
    const int r = fallocate_errno(file_.fd, kPunchHole, offset, count);
    if (r == 0) return 0;
  }
  // BLKZEROOUT may write zeroes in the kernel: not fast.
  if ((flags & nbdkit::flags::fast_zero) ||
      !sector_aligned(offset, count, storage_.sector_size))
    return ENOTSUP;
  const int r = device_ioctl(file_.fd, BLKZEROOUT, offset, count);
  return not_supported(r) ? ENOTSUP : r;
}

int FileDisk::extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) {
  constexpr uint32_t kHole = nbdkit::extent::hole | nbdkit::extent::zero;
  const uint64_t end = offset + count;
  uint64_t pos = offset;
  while (pos < end) {
    const off_t data = ::lseek(file_.fd, off_t(pos), SEEK_DATA);
    int r;
    if (data == -1) {
      // ENXIO: nothing but hole from here to the end of the file.
      if (errno != ENXIO) return errno;
      return out.add(pos, end - pos, kHole);
    }
    if (uint64_t(data) > pos) {
      r = out.add(pos, uint64_t(data) - pos, kHole);
      pos = uint64_t(data);
    } else {
      const off_t hole = ::lseek(file_.fd, off_t(pos), SEEK_HOLE);
      if (hole == -1) return errno;
      r = out.add(pos, uint64_t(hole) - pos, nbdkit::extent::data);
      pos = uint64_t(hole);
    }
    if (r != 0) return r;
    if (flags & nbdkit::flags::req_one) break;
  }
  return 0;
}

int FileDisk::cache(uint32_t count, uint64_t offset, uint32_t) {
  return ::posix_fadvise(file_.fd, off_t(offset), off_t(count), POSIX_FADV_WILLNEED);
}

void FileDisk::evict(uint32_t count, uint64_t offset, bool written) {
  if (written)
    write_eviction_.written(file_.fd, offset, count);
  else
    ::posix_fadvise(file_.fd, off_t(offset), off_t(count), POSIX_FADV_DONTNEED);
}

void WriteEviction::written(int fd, uint64_t offset, uint32_t count) {
  ::sync_file_range(fd, off_t(offset), off_t(count), SYNC_FILE_RANGE_WRITE);
  Range oldest;
  {
    std::lock_guard lock(mutex_);
    oldest = ranges_[next_];
    ranges_[next_] = {offset, count};
    next_ = (next_ + 1) % kWindow;
  }
  drop(fd, oldest);
}

void WriteEviction::drain(int fd) {
  std::lock_guard lock(mutex_);
  for (Range& range : ranges_) {
    drop(fd, range);
    range = {};
  }
}

void WriteEviction::drop(int fd, const Range& range) {
  if (range.count == 0) return;
  // Dirty pages cannot be dropped: wait for their writeback first.
  ::sync_file_range(fd, off_t(range.offset), off_t(range.count),
                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                        SYNC_FILE_RANGE_WAIT_AFTER);
  ::posix_fadvise(fd, off_t(range.offset), off_t(range.count), POSIX_FADV_DONTNEED);
}

}  // namespace file_plugin
