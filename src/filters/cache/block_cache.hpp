// The cache filter's store: the blocks of the disk kept in a temporary
// file (common/block_file.hpp), shared by every connection, each not
// cached, clean (same as the plugin) or dirty (newer than the plugin).
// It counts the cached blocks and, past cache-max-size, gives blocks back
// least recently used first (a clock sweep), writing dirty ones to the
// plugin before dropping them.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "../common/block_file.hpp"

namespace nbdkit::filters {

enum class CacheState : uint8_t { uncached = 0, clean = 1, dirty = 2 };

struct CacheLimits {
  uint64_t max_size = 0;  // bytes; 0: no limit
  unsigned high_percent = 95;
  unsigned low_percent = 80;
};

class BlockCache {
 public:
  using Blocks = BlockOverlay<CacheState>;

  BlockCache(uint64_t size, uint32_t block_size, const CacheLimits& limits);

  Blocks& blocks() { return blocks_; }
  uint64_t size() const { return blocks_.size(); }
  uint32_t block_size() const { return blocks_.block_size(); }
  CacheState state(uint64_t block) const { return blocks_.state(block); }
  uint64_t cached_bytes() const { return cached_blocks_.load(std::memory_order_relaxed) * block_size(); }
  uint64_t dirty_blocks() const { return dirty_blocks_.load(std::memory_order_relaxed); }

  // The caller holds the block's lock for these.
  void set_state(uint64_t block, CacheState s);
  // Marks a block as used, so that reclaim passes it over once.
  void touch(uint64_t block) { used_[block].store(1, std::memory_order_relaxed); }
  // Writes a dirty block to `below` and marks it clean; `scratch` holds a
  // block.
  int write_back(Context& below, uint64_t block, char* scratch);

  // Writes every dirty block to `below` (flush).  0 or the first error.
  int write_back_all(Context& below);
  // When the cache holds more than the high threshold, drops blocks until
  // it holds less than the low one (dirty blocks written to `below`
  // first).  One thread reclaims at a time; the others go on.
  void reclaim_if_needed(Context& below);

 private:
  bool over(unsigned percent) const {
    return limits_.max_size && cached_bytes() > limits_.max_size / 100 * percent;
  }
  // Drops blocks until the low threshold (under reclaim_mutex_); false
  // when it could drop none.
  bool reclaim_to_low(Context& below);
  // Drops one block if it is cached and was not used since the clock hand
  // last passed (counting it in `dropped`); 0 or the error writing it back.
  int reclaim_one(Context& below, uint64_t block, char* scratch, uint64_t& dropped);

  Blocks blocks_;
  const CacheLimits limits_;
  std::vector<std::atomic<uint8_t>> used_;
  std::atomic<uint64_t> cached_blocks_{0};
  std::atomic<uint64_t> dirty_blocks_{0};
  std::mutex reclaim_mutex_;
  uint64_t clock_hand_ = 0;  // under reclaim_mutex_
};

}  // namespace nbdkit::filters
