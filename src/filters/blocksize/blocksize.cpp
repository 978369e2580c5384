// nbdkit --filter=blocksize: presents the layers below only requests
// aligned to minblock= and no longer than maxdata= (reads, writes) or
// maxlen= (the others) (nbdkit-blocksize-filter(1)).  Unaligned heads
// and tails of reads are read whole, of writes and zeroes rewritten whole
// (read-modify-write), of trims left alone; long requests are split.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

constexpr uint32_t kMaxData = 64 * 1024 * 1024;  // nbdkit's largest read or write

struct Limits {
  uint32_t minblock = 0, maxdata = 0, maxlen = 0;  // 0: from the layer below
};

bool is_power_of_2(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// The limits for one connection: the configured ones, or defaults from
// the layer below.
Limits resolve(const Limits& config, nbdkit::Context& below) {
  const auto sizes = below.block_size();
  Limits l = config;
  if (l.minblock == 0) l.minblock = sizes ? std::max<uint32_t>(sizes->minimum, 1) : 1;
  if (l.maxdata == 0) {
    l.maxdata = sizes ? std::min(sizes->maximum, kMaxData) : kMaxData;
    l.maxdata -= l.maxdata % l.minblock;
  }
  if (l.maxlen == 0) l.maxlen = UINT32_MAX - UINT32_MAX % l.minblock;
  return l;
}

class BlockSizeContext final : public nbdkit::FilterContext {
 public:
  BlockSizeContext(std::unique_ptr<nbdkit::Context> next, const Limits& config)
      : FilterContext(std::move(next)), l_(resolve(config, this->next())) {}

  // The unaligned tail of the disk cannot be written safely: hide it.
  uint64_t get_size() override {
    const uint64_t size = next().get_size();
    return size - size % l_.minblock;
  }
  std::optional<nbdkit::BlockSize> block_size() override {
    // Any request is acceptable now; prefer whole blocks.
    const auto below = next().block_size();
    return nbdkit::BlockSize{1, std::max(below ? below->preferred : 4096u, l_.minblock),
                             UINT32_MAX};
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    std::shared_lock lock(lock_);
    auto* out = static_cast<unsigned char*>(buf);
    return by_pieces(count, offset, l_.maxdata,
                     [&](uint32_t n, uint64_t at, size_t done) {
                       return next().pread(out + done, n, at, flags);
                     },
                     [&](uint32_t n, uint64_t at, size_t done) {
                       return read_part(out + done, n, at);
                     });
  }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const auto* in = static_cast<const unsigned char*>(buf);
    if (!aligned(count, offset)) {
      // Read-modify-write: nothing else may touch the blocks meanwhile.
      std::unique_lock lock(lock_);
      return write_all(in, count, offset, flags);
    }
    std::shared_lock lock(lock_);
    return write_all(in, count, offset, flags);
  }

  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (!aligned(count, offset)) {
      // Rewriting the partial blocks is not fast.
      if (flags & nbdkit::flags::fast_zero) return ENOTSUP;
      std::unique_lock lock(lock_);
      return zero_all(count, offset, flags);
    }
    std::shared_lock lock(lock_);
    return zero_all(count, offset, flags);
  }

  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    // Trimming is advisory: partial blocks are simply kept.
    const uint64_t first = round_up(offset), last = round_down(offset + count);
    if (first >= last) return 0;
    std::shared_lock lock(lock_);
    return aligned_pieces(last - first, first, l_.maxlen, [&](uint32_t n, uint64_t at) {
      return next().trim(n, at, flags);
    });
  }

  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint64_t first = round_down(offset), last = round_up(offset + count);
    std::shared_lock lock(lock_);
    return aligned_pieces(last - first, first, l_.maxlen, [&](uint32_t n, uint64_t at) {
      return next().cache(n, at, flags);
    });
  }

  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    // One call on the enclosing blocks; the list clips what lies outside.
    const uint64_t first = round_down(offset);
    const uint64_t last = std::min(round_up(offset + count), first + l_.maxlen);
    std::shared_lock lock(lock_);
    return next().extents(static_cast<uint32_t>(last - first), first, flags, out);
  }

 private:
  uint64_t round_down(uint64_t n) const { return n - n % l_.minblock; }
  uint64_t round_up(uint64_t n) const { return round_down(n + l_.minblock - 1); }
  bool aligned(uint32_t count, uint64_t offset) const {
    return count % l_.minblock == 0 && offset % l_.minblock == 0;
  }

  // Splits [offset, offset+count) into an unaligned head, aligned pieces of
  // at most `limit` bytes and an unaligned tail; `whole(n, at, done)` runs
  // each aligned piece, `part(n, at, done)` each head or tail, where done
  // is the number of bytes of the request before it.
  template <typename Whole, typename Part>
  int by_pieces(uint32_t count, uint64_t offset, uint32_t limit, Whole&& whole, Part&& part) {
    size_t done = 0;
    if (const uint64_t skew = offset % l_.minblock; skew != 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(count, l_.minblock - skew));
      if (const int err = part(n, offset, done)) return err;
      done += n;
    }
    const uint64_t middle_end = round_down(offset + count);
    while (offset + done < middle_end) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(middle_end - offset - done, limit));
      if (const int err = whole(n, offset + done, done)) return err;
      done += n;
    }
    if (done < count) return part(static_cast<uint32_t>(count - done), offset + done, done);
    return 0;
  }

  template <typename Call>
  int aligned_pieces(uint64_t length, uint64_t offset, uint32_t limit, Call&& call) {
    while (length > 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(length, limit));
      if (const int err = call(n, offset)) return err;
      length -= n;
      offset += n;
    }
    return 0;
  }

  // Reads part of one block through a bounce buffer.
  int read_part(unsigned char* out, uint32_t n, uint64_t at) {
    std::vector<unsigned char> block(l_.minblock);
    const uint64_t start = round_down(at);
    if (const int err = next().pread(block.data(), l_.minblock, start, 0)) return err;
    std::memcpy(out, block.data() + (at - start), n);
    return 0;
  }

  // Rewrites part of one block with `data` (zeroes when null).
  int modify_part(const unsigned char* data, uint32_t n, uint64_t at, uint32_t flags) {
    std::vector<unsigned char> block(l_.minblock);
    const uint64_t start = round_down(at);
    if (const int err = next().pread(block.data(), l_.minblock, start, 0)) return err;
    if (data)
      std::memcpy(block.data() + (at - start), data, n);
    else
      std::memset(block.data() + (at - start), 0, n);
    return next().pwrite(block.data(), l_.minblock, start, flags);
  }

  int write_all(const unsigned char* in, uint32_t count, uint64_t offset, uint32_t flags) {
    return by_pieces(count, offset, l_.maxdata,
                     [&](uint32_t n, uint64_t at, size_t done) {
                       return next().pwrite(in + done, n, at, flags);
                     },
                     [&](uint32_t n, uint64_t at, size_t done) {
                       return modify_part(in + done, n, at, flags);
                     });
  }

  int zero_all(uint32_t count, uint64_t offset, uint32_t flags) {
    const uint32_t write_flags = flags & nbdkit::flags::fua;
    return by_pieces(count, offset, l_.maxlen,
                     [&](uint32_t n, uint64_t at, size_t) { return next().zero(n, at, flags); },
                     [&](uint32_t n, uint64_t at, size_t) {
                       return modify_part(nullptr, n, at, write_flags);
                     });
  }

  const Limits l_;
  // Shared by aligned requests, exclusive for read-modify-write cycles.
  std::shared_mutex lock_;
};

class BlockSizeFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "minblock=<SIZE>      Minimum block size, power of 2 <= 64k (default 1).\n"
           "maxdata=<SIZE>       Maximum size for read/write (default 64M).\n"
           "maxlen=<SIZE>        Maximum size for trim/zero (default 4G-minblock).";
  }
  bool config(std::string_view key, std::string_view value) override {
    uint32_t* target = key == "minblock" ? &config_.minblock
                       : key == "maxdata" ? &config_.maxdata
                       : key == "maxlen"  ? &config_.maxlen
                                          : nullptr;
    if (!target) return false;
    const uint64_t n = nbdkit::parse_size(key, value);
    if (n == 0 || n > UINT32_MAX)
      throw nbdkit::Error(std::string(key) + " must be between 1 and 4G-1");
    *target = static_cast<uint32_t>(n);
    return true;
  }
  void config_complete() override {
    const Limits& c = config_;
    if (c.minblock) {
      if (!is_power_of_2(c.minblock)) throw nbdkit::Error("minblock must be a power of 2");
      if (c.minblock > 65536) throw nbdkit::Error("minblock must not exceed 64k");
    }
    const uint32_t unit = c.minblock ? c.minblock : 1;
    if (c.maxdata) {
      if (c.maxdata % unit) throw nbdkit::Error("maxdata must be a multiple of " + std::to_string(unit));
      if (c.maxdata > kMaxData) throw nbdkit::Error("maxdata must not exceed 64M");
    }
    if (c.maxlen && c.maxlen % unit)
      throw nbdkit::Error("maxlen must be a multiple of " + std::to_string(unit));
  }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<BlockSizeContext>(next(readonly, exportname), config_);
  }

 private:
  Limits config_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("blocksize", BlockSizeFilter);
