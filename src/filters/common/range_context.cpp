#include "range_context.hpp"

#include <algorithm>
#include <string>

namespace nbdkit::filters {

int read_at(Context& ctx, void* buf, size_t count, uint64_t offset) {
  // Well under any request limit a plugin may have.
  constexpr size_t piece = 32 * 1024 * 1024;
  auto* out = static_cast<char*>(buf);
  while (count > 0) {
    const auto n = static_cast<uint32_t>(std::min(count, piece));
    if (const int err = ctx.pread(out, n, offset, 0)) return err;
    out += n;
    offset += n;
    count -= n;
  }
  return 0;
}

ReadAt reader_of(Context& ctx) {
  return [&ctx](void* buf, size_t count, uint64_t offset) {
    return read_at(ctx, buf, count, offset);
  };
}

int RangeContext::extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out) {
  ExtentList below(offset + start_, offset + start_ + count);
  if (const int err = next().extents(count, offset + start_, flags, below)) return err;
  for (const Extent& e : below.extents())
    if (const int err = out.add(e.offset - start_, e.length, e.type)) return err;
  return 0;
}

void check_range(const char* what, uint64_t start, uint64_t length, uint64_t size) {
  if (start > size)
    throw Error(std::string(what) + ": offset (" + std::to_string(start) +
                ") is larger than the size (" + std::to_string(size) + ") of the underlying disk");
  if (length > size - start)
    throw Error(std::string(what) + ": offset+range (" + std::to_string(start) + "+" +
                std::to_string(length) + ") is larger than the size (" + std::to_string(size) +
                ") of the underlying disk");
}

}  // namespace nbdkit::filters
