// A temporary file of fixed-size blocks standing for a whole disk, shared
// by every connection, with one state byte per block whose meaning the
// filter chooses (cow: still the plugin's, stored or zero; cache: not
// cached, clean or dirty).  The cow and cache filters keep their blocks
// here; BlockOverlay<State> below gives the states their filter's type.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/context.hpp>

namespace nbdkit::filters {

// KEY=true|false|/PATH (cow-on-read, cache-on-read): whether reads keep a
// copy of the blocks they read; with /PATH, only while that file exists.
struct CopyOnRead {
  bool on = false;
  std::string path;

  void parse(std::string_view key, std::string_view value);
  bool active() const;
};

// Adds to `out` the extents `below` reports for [offset, offset + count),
// and whatever it leaves out as data.  0 or an errno.
int add_extents_below(Context& below, uint64_t offset, uint64_t count, uint32_t flags, ExtentList& out);

// What a write or zero request puts at a disk range: the bytes of a write
// buffer starting at disk offset `offset`, or zeroes when `data` is null.
struct NewBytes {
  const char* data = nullptr;
  uint64_t offset = 0;

  // Copies the new content of [pos, pos + n) to `dest`.
  void copy_to(char* dest, uint64_t pos, uint64_t n) const {
    if (data)
      std::memcpy(dest, data + (pos - offset), n);
    else
      std::memset(dest, 0, n);
  }
  // The new content of [pos, pos + n): in the write buffer itself, or
  // zeroes put in `scratch`.
  const char* at(uint64_t pos, uint64_t n, char* scratch) const {
    if (data) return data + (pos - offset);
    std::memset(scratch, 0, n);
    return scratch;
  }
};

class BlockFile {
 public:
  // A temporary file in $TMPDIR (default /var/tmp), already unlinked, for
  // a disk of `size` bytes; `owner` names the filter in messages and in
  // the file's name.  Throws nbdkit::Error.
  BlockFile(std::string_view owner, uint64_t size, uint32_t block_size);
  ~BlockFile();
  BlockFile(const BlockFile&) = delete;
  BlockFile& operator=(const BlockFile&) = delete;

  // Where the files are made: $TMPDIR, default /var/tmp.
  static std::string directory();
  // True when that is a tmpfs, so that block I/O never waits for a disk.
  static bool directory_in_memory();
  // The file system's block size there (statvfs f_bsize), 4096 if unknown.
  static uint32_t directory_block_size();
  // Parses a KEY=SIZE block size: a power of 2 from 4K to 1G.
  static uint32_t parse_block_size(std::string_view key, std::string_view value);

  uint64_t size() const { return size_; }
  uint32_t block_size() const { return block_size_; }
  uint64_t blocks() const { return states_.size(); }
  // Bytes of the disk in `block` (the final block may be short).
  uint64_t bytes_in(uint64_t block) const { return std::min<uint64_t>(block_size_, size_ - block * block_size_); }

  uint8_t raw_state(uint64_t block) const { return states_[block].load(std::memory_order_acquire); }
  void set_raw_state(uint64_t block, uint8_t s) { states_[block].store(s, std::memory_order_release); }

  // Held while a block's content or state is being changed, so that two
  // partial writes (or a write and a copy from the plugin) do not mix.
  std::mutex& lock_for(uint64_t block) { return stripes_[block % stripes_.size()]; }

  // File I/O at a disk offset; 0 or an errno.
  int read(void* buf, size_t count, uint64_t offset) const;
  int write(const void* buf, size_t count, uint64_t offset);
  // Gives back the file's space for whole blocks (they read as zero).
  void discard(uint64_t offset, uint64_t count);

 private:
  std::string owner_;
  uint64_t size_;
  uint32_t block_size_;
  int fd_ = -1;
  std::vector<std::atomic<uint8_t>> states_;
  std::vector<std::mutex> stripes_;
};

// One block of scratch memory for the calling thread, reused from request
// to request: allocating and clearing 64 KiB per request would cost more
// than the request.  A filter of the same kind stacked below, running on
// this thread while the buffer is in use, gets a fresh one.
class ScratchBlock {
 public:
  explicit ScratchBlock(size_t size);
  ~ScratchBlock();
  ScratchBlock(const ScratchBlock&) = delete;
  ScratchBlock& operator=(const ScratchBlock&) = delete;
  char* data() { return data_; }

 private:
  std::vector<char> nested_;
  char* data_;
  bool owner_;
};

template <typename State>
class BlockOverlay : public BlockFile {
 public:
  using BlockFile::BlockFile;

  State state(uint64_t block) const { return State(raw_state(block)); }
  void set_state(uint64_t block, State s) { set_raw_state(block, uint8_t(s)); }

  // Calls fn(state, offset, length) for each run of blocks in the same
  // state covering [offset, offset + count); stops at the first error.
  // States are read without locks: a caller that needs a state to hold
  // checks it again under the block's lock.
  template <typename Fn>
  int for_runs(uint64_t offset, uint64_t count, Fn fn) const {
    const uint64_t end = offset + count, bs = block_size();
    while (offset < end) {
      const State s = state(offset / bs);
      uint64_t run_end = std::min(end, (offset / bs + 1) * bs);
      while (run_end < end && state(run_end / bs) == s) run_end = std::min(end, run_end + bs);
      if (const int err = fn(s, offset, run_end - offset)) return err;
      offset = run_end;
    }
    return 0;
  }

  // Calls fn(block_data, block, offset_in_block, disk_offset, length) for
  // each block touched by [offset, offset + count), holding the block's
  // lock; block_data is one block of scratch memory.
  template <typename Fn>
  int for_blocks(uint64_t offset, uint64_t count, Fn fn) {
    ScratchBlock scratch(block_size());
    const uint64_t end = offset + count, bs = block_size();
    for (uint64_t pos = offset; pos < end;) {
      const uint64_t block = pos / bs, at = pos % bs;
      const uint64_t n = std::min<uint64_t>(bs - at, end - pos);
      std::lock_guard lock(lock_for(block));
      if (const int err = fn(scratch.data(), block, at, pos, n)) return err;
      pos += n;
    }
    return 0;
  }
};

}  // namespace nbdkit::filters
