// One client connection's view of a file or block device.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

#include "direct_io.hpp"
#include "storage.hpp"

namespace file_plugin {

enum class CacheMode { normal, none };

// Descriptors a FileDisk serves.  It closes them when `owned`.
struct OpenFile {
  int fd = -1;
  // The same file opened with O_DIRECT for cache=none, or -1.
  int direct_fd = -1;
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
  // cache=none without O_DIRECT for this range: drop the pages after use.
  void evict(uint32_t count, uint64_t offset, bool written);
  bool use_direct(uint32_t count, uint64_t offset) const {
    return direct_ && direct_->suits(count, offset);
  }

  OpenFile file_;
  CacheMode cache_;
  Storage storage_;
  std::optional<DirectIo> direct_;
  bool can_seek_holes_ = false;
  // Cleared the first time the kernel says the file system lacks the call.
  std::atomic<bool> can_punch_{true}, can_zero_range_{true};
};

}  // namespace file_plugin
