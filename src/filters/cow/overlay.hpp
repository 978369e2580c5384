// The cow filter's overlay: a temporary file holding every block written
// since the server started, shared by all connections, and the state of
// each block (still the plugin's, in the overlay, or zero).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nbdkit::filters {

class Overlay {
 public:
  enum State : uint8_t { plugin = 0, stored = 1, zero = 2 };

  // A temporary file in $TMPDIR (default /var/tmp), already unlinked, for
  // a disk of `size` bytes.  Throws nbdkit::Error.
  Overlay(uint64_t size, uint32_t block_size);
  ~Overlay();
  Overlay(const Overlay&) = delete;
  Overlay& operator=(const Overlay&) = delete;

  // Where overlays are made: $TMPDIR, default /var/tmp.
  static std::string directory();
  // True when that is a tmpfs, so that overlay I/O never waits for a disk.
  static bool directory_in_memory();

  uint64_t size() const { return size_; }
  uint32_t block_size() const { return block_size_; }
  uint64_t blocks() const { return states_.size(); }

  State state(uint64_t block) const { return State(states_[block].load(std::memory_order_acquire)); }
  // Marks a block after its data (if any) is in the file.
  void set_state(uint64_t block, State s) { states_[block].store(s, std::memory_order_release); }

  // Held while a block's content is being changed, so that two partial
  // writes (or a write and a copy from the plugin) do not mix.
  std::mutex& lock_for(uint64_t block) { return stripes_[block % stripes_.size()]; }

  // File I/O at a disk offset; 0 or an errno.
  int read(void* buf, size_t count, uint64_t offset) const;
  int write(const void* buf, size_t count, uint64_t offset);
  // Gives back the file's space for whole blocks that became zero.
  void discard(uint64_t offset, uint64_t count);

 private:
  uint64_t size_;
  uint32_t block_size_;
  int fd_ = -1;
  std::vector<std::atomic<uint8_t>> states_;
  std::vector<std::mutex> stripes_;
};

}  // namespace nbdkit::filters
