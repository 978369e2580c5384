// Zeroing a range by writing zeroes to the layer below, for filters that
// emulate NBD_CMD_WRITE_ZEROES themselves (nozero zeromode=emulate,
// blocksize's read-modify-write).
#pragma once

#include <algorithm>
#include <cstdint>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

// Writes zeroes over [offset, offset + count) in pieces; `flags` (FUA)
// goes with the last piece only.  Returns 0 or the first error.
inline int write_zeroes(Context& next, uint32_t count, uint64_t offset, uint32_t flags) {
  static constexpr uint32_t kChunk = 64 * 1024;
  static const unsigned char zeroes[kChunk] = {};
  while (count > 0) {
    const uint32_t n = std::min(count, kChunk);
    if (const int err = next.pwrite(zeroes, n, offset, n == count ? flags : 0)) return err;
    count -= n;
    offset += n;
  }
  return 0;
}

}  // namespace nbdkit::filters
