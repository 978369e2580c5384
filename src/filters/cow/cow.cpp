// nbdkit --filter=cow: a writable, temporary copy-on-write overlay over a
// layer opened read-only (nbdkit-cow-filter(1)).  Writes, trims and zeroes
// go to the overlay (a BlockOverlay, filters/common/block_file.hpp), shared by every connection and thrown
// away at exit; the layer below is never written.

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "../common/block_file.hpp"

namespace {

// A block is still the plugin's, stored in the overlay, or zero.
enum class CowState : uint8_t { plugin = 0, stored = 1, zero = 2 };
using Overlay = nbdkit::filters::BlockOverlay<CowState>;

struct CowOptions {
  uint32_t block_size = 64 * 1024;
  bool on_cache = false;
  nbdkit::filters::CopyOnRead on_read;
};

class CowContext final : public nbdkit::FilterContext {
 public:
  CowContext(std::unique_ptr<nbdkit::Context> next, std::shared_ptr<Overlay> overlay,
             const CowOptions& options)
      : FilterContext(std::move(next)), overlay_(std::move(overlay)), options_(options),
        bs_(overlay_->block_size()) {}

  uint64_t get_size() override { return overlay_->size(); }
  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_fast_zero() override { return true; }
  bool can_extents() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }
  // One overlay for all connections: each sees the others' writes at once.
  bool can_multi_conn() override { return true; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    const bool copy = options_.on_read.active();
    return overlay_->for_runs(offset, count, [&](CowState s, uint64_t pos, uint64_t n) {
      char* out = static_cast<char*>(buf) + (pos - offset);
      if (s == CowState::plugin && copy) return copy_in(pos, n, out);
      return read_run(s, out, n, pos);
    });
  }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return modify(offset, count, {static_cast<const char*>(buf), offset});
  }
  int zero(uint32_t count, uint64_t offset, uint32_t) override { return make_zero(count, offset, true); }
  // A trim is advisory: only whole blocks are dropped (and read as zero).
  int trim(uint32_t count, uint64_t offset, uint32_t) override { return make_zero(count, offset, false); }
  // The overlay does not outlive the server, so there is nothing to persist.
  int flush(uint32_t) override { return 0; }

  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) override;
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override;

 private:
  int read_run(CowState s, char* out, uint64_t n, uint64_t pos) {
    switch (s) {
      case CowState::stored: return overlay_->read(out, n, pos);
      case CowState::zero: std::memset(out, 0, n); return 0;
      default: return next().pread(out, static_cast<uint32_t>(n), pos, 0);
    }
  }

  // The current content of a block, zero-padded past the end of the disk.
  int load_block(uint64_t block, char* data) {
    const uint64_t start = block * bs_;
    const uint64_t n = std::min<uint64_t>(bs_, overlay_->size() - start);
    std::memset(data + n, 0, bs_ - n);
    return read_run(overlay_->state(block), data, n, start);
  }

  // Stores a block's new content; the caller holds its lock.
  int store_block(uint64_t block, const char* data) {
    if (const int err = overlay_->write(data, bs_, block * bs_)) return err;
    overlay_->set_state(block, CowState::stored);
    return 0;
  }

  // Puts `bytes` at every block touched by [offset, offset+count).  Part
  // of a block already in the overlay is written in place; any other
  // partial block is read, modified and stored whole (its first copy into
  // the overlay).
  int modify(uint64_t offset, uint64_t count, const nbdkit::filters::NewBytes& bytes) {
    return overlay_->for_blocks(offset, count, [&](char* data, uint64_t block, uint64_t at, uint64_t pos, uint64_t n) {
      if (n < bs_ && overlay_->state(block) == CowState::stored)
        return overlay_->write(bytes.at(pos, n, data), n, pos);
      if (n < bs_)
        if (const int err = load_block(block, data)) return err;
      bytes.copy_to(data + at, pos, n);
      return store_block(block, data);
    });
  }

  int make_zero(uint64_t count, uint64_t offset, bool partial_too);
  int copy_in(uint64_t offset, uint64_t count, char* out);

  std::shared_ptr<Overlay> overlay_;
  const CowOptions& options_;
  const uint64_t bs_;
};

// Whole blocks become zero blocks; the edges of a zero request are
// written as zeroes, those of a trim left alone.
int CowContext::make_zero(uint64_t count, uint64_t offset, bool partial_too) {
  const nbdkit::filters::NewBytes zeroes;
  const uint64_t end = offset + count;
  // Whole blocks [first, last); the short final block counts as whole.
  const uint64_t first = (offset + bs_ - 1) / bs_;
  const uint64_t last = end == overlay_->size() ? overlay_->blocks() : end / bs_;
  if (first >= last) return partial_too ? modify(offset, count, zeroes) : 0;
  if (partial_too && offset < first * bs_)
    if (const int err = modify(offset, first * bs_ - offset, zeroes)) return err;
  for (uint64_t b = first; b < last; ++b) {
    std::lock_guard lock(overlay_->lock_for(b));
    // Only a block with data in the file has space to give back; under
    // the lock, so that no write to it lands in between.
    if (overlay_->state(b) == CowState::stored) overlay_->discard(b * bs_, bs_);
    overlay_->set_state(b, CowState::zero);
  }
  const uint64_t tail = std::min(end, last * bs_);
  if (partial_too && tail < end)
    if (const int err = modify(tail, end - tail, zeroes)) return err;
  return 0;
}

// Reads blocks still in the plugin and keeps a copy in the overlay
// (cow-on-read, cow-on-cache); `out`, when given, receives the requested
// part.  A block written meanwhile is left as written.
int CowContext::copy_in(uint64_t offset, uint64_t count, char* out) {
  return overlay_->for_blocks(offset, count, [&](char* data, uint64_t block, uint64_t at, uint64_t pos, uint64_t n) {
    if (const int err = load_block(block, data)) return err;
    if (overlay_->state(block) == CowState::plugin)
      if (const int err = store_block(block, data)) return err;
    if (out) std::memcpy(out + (pos - offset), data + at, n);
    return 0;
  });
}

int CowContext::extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) {
  return overlay_->for_runs(offset, count, [&](CowState s, uint64_t pos, uint64_t n) {
    if (s == CowState::stored) return out.add(pos, n, nbdkit::extent::data);
    if (s == CowState::zero) return out.add(pos, n, nbdkit::extent::hole | nbdkit::extent::zero);
    return nbdkit::filters::add_extents_below(next(), pos, n, flags, out);
  });
}

int CowContext::cache(uint32_t count, uint64_t offset, uint32_t flags) {
  if (options_.on_cache) {
    return overlay_->for_runs(offset, count, [&](CowState s, uint64_t pos, uint64_t n) {
      return s == CowState::plugin ? copy_in(pos, n, nullptr) : 0;
    });
  }
  if (next().can_cache() != nbdkit::CacheSupport::native) return 0;
  return overlay_->for_runs(offset, count, [&](CowState s, uint64_t pos, uint64_t n) {
    return s == CowState::plugin ? next().cache(static_cast<uint32_t>(n), pos, flags) : 0;
  });
}

class CowFilter final : public nbdkit::Filter {
 public:
  // Reads and writes of an overlay in memory never wait for a disk.
  bool data_calls_are_nonblocking() const override { return in_memory_; }
  void config_complete() override { in_memory_ = Overlay::directory_in_memory(); }

  std::string config_help() const override {
    return "cow-block-size=<N>   Set COW block size (default 64K, power of 2, at least 4K).\n"
           "cow-on-cache=<BOOL>  Copy cache (prefetch) requests to the overlay.\n"
           "cow-on-read=<BOOL>|/PATH  Copy read requests to the overlay.";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "cow-block-size") {
      options_.block_size = Overlay::parse_block_size(key, value);
    } else if (key == "cow-on-cache") {
      options_.on_cache = nbdkit::parse_bool(key, value);
    } else if (key == "cow-on-read") {
      options_.on_read.parse(key, value);
    } else {
      return false;
    }
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool,
                                        std::string_view exportname, bool) override {
    // The layer below is only ever read.
    auto below = next(true, exportname);
    const uint64_t size = below->get_size();
    std::shared_ptr<Overlay> overlay;
    {
      std::lock_guard lock(mutex_);
      if (!overlay_) overlay_ = std::make_shared<Overlay>("cow", size, options_.block_size);
      if (overlay_->size() != size)
        throw nbdkit::Error("cow: the underlying disk changed size (" + std::to_string(size) +
                            " bytes, was " + std::to_string(overlay_->size()) + ")");
      overlay = overlay_;
    }
    return std::make_unique<CowContext>(std::move(below), std::move(overlay), options_);
  }

 private:
  CowOptions options_;
  bool in_memory_ = false;
  std::mutex mutex_;
  std::shared_ptr<Overlay> overlay_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("cow", CowFilter);
