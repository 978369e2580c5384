// Helpers shared by the filters that serve part of the layer below
// (offset, partition, tar) and by those that read it while opening.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

// Reads `count` bytes at `offset` of whatever is being parsed; returns 0
// or an errno.  Parsers take this rather than a Context so that fuzz
// targets can feed them from memory.
using ReadAt = std::function<int(void* buf, size_t count, uint64_t offset)>;

// Reads any length from `ctx`, in pieces a single request can carry.
int read_at(Context& ctx, void* buf, size_t count, uint64_t offset);

// A ReadAt over `ctx` (which must outlive it).
ReadAt reader_of(Context& ctx);

// Serves bytes [start, start + length) of the layer below as a whole
// disk: every data call is shifted by `start`, extents shifted back.  The
// server has already checked requests against get_size() = length.
class RangeContext : public FilterContext {
 public:
  RangeContext(std::unique_ptr<Context> next, uint64_t start, uint64_t length)
      : FilterContext(std::move(next)), start_(start), length_(length) {}

  uint64_t get_size() override { return length_; }
  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return next().pread(buf, count, offset + start_, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return next().pwrite(buf, count, offset + start_, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return next().trim(count, offset + start_, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return next().zero(count, offset + start_, flags);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    return next().cache(count, offset + start_, flags);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out) override;

 private:
  uint64_t start_, length_;
};

// Throws nbdkit::Error unless [start, start + length) lies within `size`.
void check_range(const char* what, uint64_t start, uint64_t length, uint64_t size);

}  // namespace nbdkit::filters
