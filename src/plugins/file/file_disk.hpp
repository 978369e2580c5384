// One client connection's view of a file or block device.
#pragma once

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

#include "storage.hpp"

namespace file_plugin {

enum class CacheMode { normal, none };

// cache=none for writes: writeback of each written range starts at once,
// and the range is dropped from the page cache a few writes later, when
// its writeback is likely done, so that waiting rarely stalls a request.
class WriteEviction {
 public:
  void written(int fd, uint64_t offset, uint32_t count);
  // Drops every range still held (when the connection closes).
  void drain(int fd);

 private:
  struct Range {
    uint64_t offset = 0;
    uint32_t count = 0;
  };
  static void drop(int fd, const Range& range);
  static constexpr size_t kWindow = 64;
  std::mutex mutex_;
  std::array<Range, kWindow> ranges_;
  size_t next_ = 0;
};

// The descriptor a FileDisk serves; it closes it when `owned`.
struct OpenFile {
  int fd = -1;
  bool writable = false;
  bool owned = true;
  std::string name;  // for messages
};

class FileDisk final : public nbdkit::Context {
 public:
  FileDisk(OpenFile file, CacheMode cache);
  ~FileDisk() override;
  FileDisk(const FileDisk&) = delete;
  FileDisk& operator=(const FileDisk&) = delete;

  uint64_t get_size() override { return storage_.size; }
  std::optional<nbdkit::BlockSize> block_size() override;
  bool can_write() override { return file_.writable; }
  bool can_flush() override { return true; }
  bool is_rotational() override { return storage_.rotational; }
  bool can_trim() override { return file_.writable; }
  bool can_zero() override { return file_.writable; }
  bool can_fast_zero() override { return file_.writable; }
  bool can_extents() override { return can_seek_holes_; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }
  bool can_multi_conn() override { return true; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override;
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override;
  int flush(uint32_t flags) override;
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override;
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override;
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override;
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override;

 private:
  int zero_file(uint32_t count, uint64_t offset, uint32_t flags);
  int zero_device(uint32_t count, uint64_t offset, uint32_t flags);
  int punch_hole(uint32_t count, uint64_t offset);
  // cache=none: drop the pages of a range read or written.
  void evict(uint32_t count, uint64_t offset, bool written);

  OpenFile file_;
  CacheMode cache_;
  Storage storage_;
  bool can_seek_holes_ = false;
  // Cleared the first time the kernel says the file system lacks the call.
  std::atomic<bool> can_punch_{true}, can_zero_range_{true};
  WriteEviction write_eviction_;
};

}  // namespace file_plugin
