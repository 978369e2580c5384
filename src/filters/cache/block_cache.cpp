#include "block_cache.hpp"

#include <cstring>

namespace nbdkit::filters {

BlockCache::BlockCache(uint64_t size, uint32_t block_size, const CacheLimits& limits)
    : blocks_("cache", size, block_size), limits_(limits), used_(blocks_.blocks()) {}

void BlockCache::set_state(uint64_t block, CacheState s) {
  const CacheState old = blocks_.state(block);
  if (old == s) return;
  if ((old == CacheState::uncached) != (s == CacheState::uncached))
    cached_blocks_.fetch_add(s == CacheState::uncached ? uint64_t(-1) : 1, std::memory_order_relaxed);
  if ((old == CacheState::dirty) != (s == CacheState::dirty))
    dirty_blocks_.fetch_add(s == CacheState::dirty ? 1 : uint64_t(-1), std::memory_order_relaxed);
  blocks_.set_state(block, s);
}

int BlockCache::write_back(Context& below, uint64_t block, char* scratch) {
  const uint64_t n = blocks_.bytes_in(block), offset = block * block_size();
  if (const int err = blocks_.read(scratch, n, offset)) return err;
  if (const int err = below.pwrite(scratch, static_cast<uint32_t>(n), offset, 0)) return err;
  set_state(block, CacheState::clean);
  return 0;
}

int BlockCache::write_back_all(Context& below) {
  if (dirty_blocks() == 0) return 0;
  ScratchBlock scratch(block_size());
  for (uint64_t block = 0; block < blocks_.blocks(); ++block) {
    if (state(block) != CacheState::dirty) continue;
    std::lock_guard lock(blocks_.lock_for(block));
    // Written back by another flush or reclaimed meanwhile: nothing to do.
    if (state(block) != CacheState::dirty) continue;
    if (const int err = write_back(below, block, scratch.data())) return err;
  }
  return 0;
}

int BlockCache::reclaim_one(Context& below, uint64_t block, char* scratch, uint64_t& dropped) {
  if (state(block) == CacheState::uncached) return 0;
  // A second chance for a block used since the hand last came by.
  if (used_[block].exchange(0, std::memory_order_relaxed)) return 0;
  std::lock_guard lock(blocks_.lock_for(block));
  if (state(block) == CacheState::dirty)
    if (const int err = write_back(below, block, scratch)) return err;
  if (state(block) == CacheState::uncached) return 0;
  blocks_.discard(block * block_size(), block_size());
  set_state(block, CacheState::uncached);
  ++dropped;
  return 0;
}

void BlockCache::reclaim_if_needed(Context& below) {
  // Blocks that other threads cache while this one reclaims (they find
  // the lock taken and go on) are this thread's to reclaim: it checks
  // again after letting go of the lock.
  while (over(limits_.high_percent)) {
    std::unique_lock reclaiming(reclaim_mutex_, std::try_to_lock);
    if (!reclaiming.owns_lock() || !reclaim_to_low(below)) return;
  }
}

bool BlockCache::reclaim_to_low(Context& below) {
  ScratchBlock scratch(block_size());
  const uint64_t n = blocks_.blocks();
  // Counted here, not from cached_bytes(): other threads may cache blocks
  // faster than this one drops them, and it must go on all the same.
  uint64_t dropped = 0;
  // Two turns of the hand clear every used mark; more cannot help.
  for (uint64_t step = 0; step < 2 * n && over(limits_.low_percent); ++step) {
    const uint64_t block = clock_hand_;
    clock_hand_ = (clock_hand_ + 1) % n;
    if (const int err = reclaim_one(below, block, scratch.data(), dropped)) {
      error("cache: writing back block %llu to make room: %s", static_cast<unsigned long long>(block),
            strerror(err));
      return false;
    }
  }
  return dropped > 0;
}

}  // namespace nbdkit::filters
