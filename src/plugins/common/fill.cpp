#include "fill.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace plugins_common {
namespace {

constexpr uint64_t to_big_endian(uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}

// The pattern is filled a 4 KiB-aligned chunk at a time.  Within a chunk a
// word's offset is chunk_base + 8*j, and since chunk_base has its low 12
// bits clear the two parts occupy different bits: the big-endian word is
// big_endian(chunk_base) | big_endian(8*j).  So each word costs one OR with
// a per-chunk constant against this table, instead of a byte swap.
constexpr size_t chunk_bytes = 4096;
constexpr size_t chunk_words = chunk_bytes / 8;

constexpr std::array<uint64_t, chunk_words> make_low_words() {
  std::array<uint64_t, chunk_words> table{};
  for (size_t j = 0; j < chunk_words; ++j) table[j] = to_big_endian(uint64_t{8} * j);
  return table;
}
constexpr std::array<uint64_t, chunk_words> low_words = make_low_words();

// Bytes one at a time, for the unaligned ends of a request.
uint8_t* fill_bytes(uint8_t* p, size_t count, uint64_t& offset) {
  for (size_t i = 0; i < count; ++i) *p++ = pattern_byte(offset++);
  return p;
}

}  // namespace

void fill_pattern(void* buf, size_t count, uint64_t offset) {
  auto* p = static_cast<uint8_t*>(buf);
  const size_t head = std::min<size_t>(count, (8 - offset % 8) % 8);
  p = fill_bytes(p, head, offset);
  count -= head;
  while (count >= 8) {
    const uint64_t high = to_big_endian(offset & ~uint64_t{chunk_bytes - 1});
    const size_t first = offset % chunk_bytes / 8;
    const size_t words = std::min(count / 8, chunk_words - first);
    for (size_t j = 0; j < words; ++j) {
      const uint64_t word = high | low_words[first + j];
      std::memcpy(p + 8 * j, &word, 8);
    }
    p += 8 * words;
    offset += 8 * words;
    count -= 8 * words;
  }
  fill_bytes(p, count, offset);
}

}  // namespace plugins_common
