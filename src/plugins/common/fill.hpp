// Fast fills for plugins whose bytes are a function of the offset.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plugins_common {

// The pattern plugin's content: every 8-byte word, at an offset that is a
// multiple of 8, holds that offset as a big-endian 64-bit integer.
// Fills buf with the `count` bytes that start at `offset`.
void fill_pattern(void* buf, size_t count, uint64_t offset);

// The byte of that pattern at one offset.
inline uint8_t pattern_byte(uint64_t offset) {
  const uint64_t word = offset & ~uint64_t{7};
  return static_cast<uint8_t>(word >> (8 * (7 - offset % 8)));
}

}  // namespace plugins_common
