// nbdkit --filter=cache: keeps blocks of the disk in a temporary file
// (block_cache.cpp) so that the plugin is asked less (nbdkit-cache-filter(1)).
// cache=writeback keeps writes until a flush, writethrough writes them to
// the plugin at once, unsafe ignores flush and FUA.  Every connection
// shares one cache.  Concurrency: each block's lock (striped) is held
// while its content or state changes or while it is read from the cache
// file; reads of blocks not cached go to the plugin without a lock.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include <nbdkit/plugin.hpp>

#include "../common/block_file.hpp"
#include "../common/choice.hpp"
#include "../common/zero_writes.hpp"
#include "block_cache.hpp"

namespace {

using nbdkit::filters::BlockCache;
using nbdkit::filters::CacheState;

enum class CacheMode { writeback, writethrough, unsafe };

struct CacheOptions {
  CacheMode mode = CacheMode::writeback;
  uint32_t min_block_size = 64 * 1024;
  nbdkit::filters::CacheLimits limits;
  nbdkit::filters::CopyOnRead on_read;
};

class CacheContext final : public nbdkit::FilterContext {
 public:
  CacheContext(std::unique_ptr<nbdkit::Context> next, std::shared_ptr<BlockCache> cache,
               const CacheOptions& options)
      : FilterContext(std::move(next)), cache_(std::move(cache)), options_(options),
        bs_(cache_->block_size()) {}

  uint64_t get_size() override { return cache_->size(); }
  std::optional<nbdkit::BlockSize> block_size() override;
  // Flush always means something: writing back, or nothing (unsafe).
  bool can_flush() override { return true; }
  bool can_fast_zero() override { return true; }
  nbdkit::FuaSupport can_fua() override;
  // One cache for all connections; writethrough leaves consistency to
  // the plugin, as nbdkit does.
  bool can_multi_conn() override {
    return options_.mode != CacheMode::writethrough || next().can_multi_conn();
  }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override;
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override;
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override;
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override;
  int flush(uint32_t flags) override;
  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) override;
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override;

 private:
  // Whether a write with these flags goes to the plugin at once.
  bool writes_through(uint32_t flags) const {
    if (options_.mode == CacheMode::unsafe) return false;
    return options_.mode == CacheMode::writethrough || (flags & nbdkit::flags::fua);
  }
  // FUA for a write through to the plugin: the flag when the plugin does
  // it natively; otherwise finish_fua flushes once at the end.
  uint32_t fua_below(uint32_t flags) {
    return (flags & nbdkit::flags::fua) && options_.mode != CacheMode::unsafe &&
                   next().can_fua() == nbdkit::FuaSupport::native
               ? nbdkit::flags::fua
               : 0;
  }
  int finish_fua(uint32_t flags) {
    if (!(flags & nbdkit::flags::fua) || options_.mode == CacheMode::unsafe) return 0;
    if (next().can_fua() == nbdkit::FuaSupport::emulate) return next().flush(0);
    return 0;
  }

  int read_blocks(char* out, uint64_t count, uint64_t offset, bool keep);
  int load_block(uint64_t block, char* data);
  int store_block(uint64_t block, const char* data, CacheState s);
  int write_through(uint64_t block, const char* data, uint32_t fua);
  int change_bytes(uint64_t block, const char* bytes, uint64_t n, uint64_t pos, bool through, uint32_t fua);
  int modify(uint64_t offset, uint64_t count, uint32_t flags, const nbdkit::filters::NewBytes& bytes);
  int zero_whole_blocks(uint64_t first, uint64_t last, uint32_t flags);

  std::shared_ptr<BlockCache> cache_;
  const CacheOptions& options_;
  const uint64_t bs_;
};

std::optional<nbdkit::BlockSize> CacheContext::block_size() {
  nbdkit::BlockSize size = next().block_size().value_or(nbdkit::BlockSize{});
  size.preferred = std::max<uint32_t>(size.preferred, static_cast<uint32_t>(bs_));
  return size;
}

nbdkit::FuaSupport CacheContext::can_fua() {
  if (options_.mode == CacheMode::unsafe) return nbdkit::FuaSupport::native;
  // FUA is a write through to the plugin, made durable there.
  return next().can_fua() == nbdkit::FuaSupport::none ? nbdkit::FuaSupport::none
                                                       : nbdkit::FuaSupport::native;
}

// Blocks not cached are read from the plugin in runs; cached ones from
// the cache file under their lock (reclaim may be dropping them).
int CacheContext::pread(void* buf, uint32_t count, uint64_t offset, uint32_t) {
  const bool keep = options_.on_read.active();
  char* out = static_cast<char*>(buf);
  const int err = cache_->blocks().for_runs(offset, count, [&](CacheState s, uint64_t pos, uint64_t n) {
    if (s == CacheState::uncached && !keep)
      return next().pread(out + (pos - offset), static_cast<uint32_t>(n), pos, 0);
    return read_blocks(out + (pos - offset), n, pos, keep);
  });
  if (keep && !err) cache_->reclaim_if_needed(next());
  return err;
}

// Reads [offset, offset + count) block by block under each block's lock;
// blocks not cached come from the plugin, and are kept if `keep`.
int CacheContext::read_blocks(char* out, uint64_t count, uint64_t offset, bool keep) {
  return cache_->blocks().for_blocks(offset, count, [&](char* data, uint64_t block, uint64_t at,
                                                        uint64_t pos, uint64_t n) {
    char* to = out + (pos - offset);
    const CacheState s = cache_->state(block);
    if (s == CacheState::uncached && !keep) return next().pread(to, static_cast<uint32_t>(n), pos, 0);
    if (s == CacheState::uncached) {
      if (const int err = load_block(block, data)) return err;
      if (const int err = store_block(block, data, CacheState::clean)) return err;
      std::memcpy(to, data + at, n);
      return 0;
    }
    cache_->touch(block);
    return cache_->blocks().read(to, n, pos);
  });
}

// The current content of a block (the caller holds its lock), zero-padded
// past the end of the disk.
int CacheContext::load_block(uint64_t block, char* data) {
  const uint64_t n = cache_->blocks().bytes_in(block), start = block * bs_;
  std::memset(data + n, 0, bs_ - n);
  if (cache_->state(block) != CacheState::uncached) return cache_->blocks().read(data, n, start);
  return next().pread(data, static_cast<uint32_t>(n), start, 0);
}

// Stores a block's new content and state; the caller holds its lock.
int CacheContext::store_block(uint64_t block, const char* data, CacheState s) {
  if (const int err = cache_->blocks().write(data, cache_->blocks().bytes_in(block), block * bs_)) return err;
  cache_->touch(block);
  cache_->set_state(block, s);
  return 0;
}

// Writes a changed block (already stored dirty) to the plugin, whole as
// nbdkit does, and marks it clean; on failure it stays dirty, so that a
// later flush still writes it.  The caller holds its lock.
int CacheContext::write_through(uint64_t block, const char* data, uint32_t fua) {
  const uint64_t n = cache_->blocks().bytes_in(block);
  if (const int err = next().pwrite(data, static_cast<uint32_t>(n), block * bs_, fua)) return err;
  cache_->set_state(block, CacheState::clean);
  return 0;
}

// Puts `bytes` at every block touched by [offset, offset + count); then
// the blocks are dirty, or written through to the plugin.
int CacheContext::modify(uint64_t offset, uint64_t count, uint32_t flags,
                         const nbdkit::filters::NewBytes& bytes) {
  const bool through = writes_through(flags);
  const uint32_t fua = through ? fua_below(flags) : 0;
  const int err = cache_->blocks().for_blocks(offset, count, [&](char* data, uint64_t block, uint64_t at,
                                                                 uint64_t pos, uint64_t n) {
    const CacheState s = cache_->state(block);
    const bool whole = at == 0 && n == cache_->blocks().bytes_in(block);
    // Only the new bytes need writing when the cache already holds the
    // rest of the block, or when it is not cached and the write goes to
    // the plugin anyway (cached, it would cost a read of the block).
    if (!whole && (s == CacheState::clean || (s == CacheState::dirty && !through)))
      return change_bytes(block, bytes.at(pos, n, data), n, pos, through, fua);
    if (!whole && s == CacheState::uncached && through)
      return next().pwrite(bytes.at(pos, n, data), static_cast<uint32_t>(n), pos, fua);
    // Read-modify-write of the whole block.
    if (!whole)
      if (const int err = load_block(block, data)) return err;
    bytes.copy_to(data + at, pos, n);
    if (const int err = store_block(block, data, CacheState::dirty)) return err;
    return through ? write_through(block, data, fua) : 0;
  });
  cache_->reclaim_if_needed(next());
  if (err || !through) return err;
  return finish_fua(flags);
}

// Writes n new bytes of a cached block into the cache file, and through
// to the plugin when `through` (the block was clean: it stays clean).
// The caller holds the block's lock.
int CacheContext::change_bytes(uint64_t block, const char* bytes, uint64_t n, uint64_t pos, bool through,
                               uint32_t fua) {
  if (const int err = cache_->blocks().write(bytes, n, pos)) return err;
  cache_->touch(block);
  if (!through) {
    cache_->set_state(block, CacheState::dirty);
    return 0;
  }
  const int err = next().pwrite(bytes, static_cast<uint32_t>(n), pos, fua);
  // Failed, the plugin may lack the bytes: a later flush writes them.
  if (err) cache_->set_state(block, CacheState::dirty);
  return err;
}

int CacheContext::pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) {
  return modify(offset, count, flags, {static_cast<const char*>(buf), offset});
}

// Whole blocks become holes in the cache file (they read as zero) and
// dirty or, written through, leave the cache and are zeroed in the plugin
// in one request; the edges are written as zeroes.
int CacheContext::zero(uint32_t count, uint64_t offset, uint32_t flags) {
  const nbdkit::filters::NewBytes zeroes;
  const uint64_t end = offset + count;
  // Whole blocks [first, last); the short final block counts as whole.
  const uint64_t first = (offset + bs_ - 1) / bs_;
  const uint64_t last = end == cache_->size() ? cache_->blocks().blocks() : end / bs_;
  if (first >= last) return modify(offset, count, flags, zeroes);
  if (offset < first * bs_)
    if (const int err = modify(offset, first * bs_ - offset, flags, zeroes)) return err;
  if (const int err = zero_whole_blocks(first, last, flags)) return err;
  const uint64_t tail = std::min(end, last * bs_);
  return tail < end ? modify(tail, end - tail, flags, zeroes) : 0;
}

int CacheContext::zero_whole_blocks(uint64_t first, uint64_t last, uint32_t flags) {
  // Written through, the blocks leave the cache: the plugin's zeroes are
  // as cheap to read, and the cache keeps its room.
  const bool through = writes_through(flags);
  for (uint64_t b = first; b < last; ++b) {
    std::lock_guard lock(cache_->blocks().lock_for(b));
    cache_->blocks().discard(b * bs_, bs_);
    cache_->touch(b);
    cache_->set_state(b, through ? CacheState::uncached : CacheState::dirty);
  }
  if (!through) {
    cache_->reclaim_if_needed(next());
    return 0;
  }
  const uint64_t start = first * bs_, n = std::min(last * bs_, cache_->size()) - start;
  // Requests are at most 4 GiB - 1, so n fits.
  const uint32_t len = static_cast<uint32_t>(n), fua = fua_below(flags);
  int err = next().can_zero() ? next().zero(len, start, fua | nbdkit::flags::may_trim) : ENOTSUP;
  if (err == ENOTSUP || err == EOPNOTSUPP) err = nbdkit::filters::write_zeroes(next(), len, start, fua);
  return err ? err : finish_fua(flags);
}

// Whole blocks leave the cache (their content no longer matters); the
// trim itself goes to the plugin.
int CacheContext::trim(uint32_t count, uint64_t offset, uint32_t flags) {
  const uint64_t end = offset + count;
  const uint64_t first = (offset + bs_ - 1) / bs_;
  const uint64_t last = end == cache_->size() ? cache_->blocks().blocks() : end / bs_;
  for (uint64_t b = first; b < last; ++b) {
    if (cache_->state(b) == CacheState::uncached) continue;
    std::lock_guard lock(cache_->blocks().lock_for(b));
    cache_->blocks().discard(b * bs_, bs_);
    cache_->set_state(b, CacheState::uncached);
  }
  if (const int err = next().trim(count, offset, fua_below(flags))) return err;
  return finish_fua(flags);
}

int CacheContext::flush(uint32_t) {
  if (options_.mode == CacheMode::unsafe) return 0;
  if (const int err = cache_->write_back_all(next())) return err;
  return next().can_flush() ? next().flush(0) : 0;
}

// The plugin's extents, except that dirty blocks are data: the plugin
// does not have them yet.
int CacheContext::extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) {
  return cache_->blocks().for_runs(offset, count, [&](CacheState s, uint64_t pos, uint64_t n) {
    if (s == CacheState::dirty) return out.add(pos, n, nbdkit::extent::data);
    return nbdkit::filters::add_extents_below(next(), pos, n, flags, out);
  });
}

// A prefetch: blocks not cached are read from the plugin and kept.
int CacheContext::cache(uint32_t count, uint64_t offset, uint32_t) {
  const int err = cache_->blocks().for_runs(offset, count, [&](CacheState s, uint64_t pos, uint64_t n) {
    if (s != CacheState::uncached) return 0;
    return cache_->blocks().for_blocks(pos, n, [&](char* data, uint64_t block, uint64_t, uint64_t, uint64_t) {
      if (cache_->state(block) != CacheState::uncached) return 0;
      if (const int err = load_block(block, data)) return err;
      return store_block(block, data, CacheState::clean);
    });
  });
  cache_->reclaim_if_needed(next());
  return err;
}

class CacheFilter final : public nbdkit::Filter {
 public:
  bool data_calls_are_nonblocking() const override { return in_memory_; }

  std::string config_help() const override {
    return "cache=MODE                Set cache MODE, one of writeback (default),\n"
           "                          writethrough, or unsafe.\n"
           "cache-on-read=BOOL|/PATH  Set to true to cache on reads (default false).\n"
           "cache-min-block-size=SIZE Minimum cache block size (default 64K).\n"
           "cache-max-size=SIZE       Set maximum space used by cache.\n"
           "cache-high-threshold=PCT  Percentage of max size where reclaim begins.\n"
           "cache-low-threshold=PCT   Percentage of max size where reclaim ends.";
  }

  bool config(std::string_view key, std::string_view value) override;
  void config_complete() override;
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override;

 private:
  CacheOptions options_;
  uint32_t block_size_ = 0;
  bool in_memory_ = false;
  std::mutex mutex_;
  std::shared_ptr<BlockCache> cache_;
};

unsigned parse_percent(std::string_view key, std::string_view value) {
  const unsigned n = nbdkit::parse_uint32(key, value);
  if (n == 0) throw nbdkit::Error(std::string(key) + " must be greater than zero");
  return n;
}

bool CacheFilter::config(std::string_view key, std::string_view value) {
  if (key == "cache") {
    options_.mode = nbdkit::filters::parse_choice<CacheMode>(
        key, value,
        {{"writeback", CacheMode::writeback}, {"writethrough", CacheMode::writethrough},
         {"unsafe", CacheMode::unsafe}},
        "cache mode");
  } else if (key == "cache-min-block-size") {
    options_.min_block_size = nbdkit::filters::BlockFile::parse_block_size(key, value);
  } else if (key == "cache-max-size") {
    options_.limits.max_size = nbdkit::parse_size(key, value);
    // Smaller would leave room for only a few blocks.
    if (options_.limits.max_size < 1024 * 1024) throw nbdkit::Error("cache-max-size is too small (at least 1M)");
  } else if (key == "cache-high-threshold") {
    options_.limits.high_percent = parse_percent(key, value);
  } else if (key == "cache-low-threshold") {
    options_.limits.low_percent = parse_percent(key, value);
  } else if (key == "cache-on-read") {
    options_.on_read.parse(key, value);
  } else {
    return false;
  }
  return true;
}

void CacheFilter::config_complete() {
  if (options_.limits.low_percent >= options_.limits.high_percent)
    throw nbdkit::Error("cache-low-threshold must be less than cache-high-threshold");
  // As nbdkit: at least the file system's block size where the cache lives.
  block_size_ = std::max(options_.min_block_size, nbdkit::filters::BlockFile::directory_block_size());
  in_memory_ = nbdkit::filters::BlockFile::directory_in_memory();
}

std::unique_ptr<nbdkit::Context> CacheFilter::open(const nbdkit::OpenNext& next, bool readonly,
                                                   std::string_view exportname, bool) {
  auto below = next(readonly, exportname);
  const uint64_t size = below->get_size();
  std::shared_ptr<BlockCache> cache;
  {
    std::lock_guard lock(mutex_);
    if (!cache_) cache_ = std::make_shared<BlockCache>(size, block_size_, options_.limits);
    if (cache_->size() != size)
      throw nbdkit::Error("cache: the underlying disk changed size (" + std::to_string(size) +
                          " bytes, was " + std::to_string(cache_->size()) + ")");
    cache = cache_;
  }
  return std::make_unique<CacheContext>(std::move(below), std::move(cache), options_);
}

}  // namespace

NBDKIT_REGISTER_FILTER("cache", CacheFilter);
