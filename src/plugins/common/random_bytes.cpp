#include "random_bytes.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace plugins_common {
namespace {

constexpr uint64_t golden = 0x9e3779b97f4a7c15;

struct Xoshiro256StarStar {
  uint64_t s[4];

  uint64_t next() {
    const uint64_t result = std::rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = std::rotl(s[3], 45);
    return result;
  }

  // Bytes in little-endian order whatever the host, so that a seed names
  // the same disk everywhere.
  uint64_t next_le() {
    const uint64_t v = next();
    if constexpr (std::endian::native == std::endian::big) return __builtin_bswap64(v);
    return v;
  }
};

Xoshiro256StarStar block_generator(uint64_t key, uint64_t block) {
  Xoshiro256StarStar g;
  for (uint64_t k = 0; k < 4; ++k) g.s[k] = mix64(key + (block * 4 + k + 1) * golden);
  // All-zero is xoshiro's one forbidden state (mix64 is a bijection, so
  // this needs four exact preimages of zero; cheap to rule out anyway).
  if ((g.s[0] | g.s[1] | g.s[2] | g.s[3]) == 0) g.s[0] = golden;
  return g;
}

// Fills `count` bytes starting `skip` bytes into the block's stream.
void fill_from_block(uint8_t* p, size_t count, size_t skip, Xoshiro256StarStar& gen) {
  for (size_t i = 0; i < skip / 8; ++i) gen.next();
  size_t done = 0;
  if (const size_t in_word = skip % 8; in_word != 0) {
    const uint64_t w = gen.next_le();
    done = std::min(count, 8 - in_word);
    std::memcpy(p, reinterpret_cast<const uint8_t*>(&w) + in_word, done);
  }
  for (; done + 8 <= count; done += 8) {
    const uint64_t w = gen.next_le();
    std::memcpy(p + done, &w, 8);
  }
  if (done < count) {
    const uint64_t w = gen.next_le();
    std::memcpy(p + done, &w, count - done);
  }
}

}  // namespace

RandomBytes::RandomBytes(uint64_t seed) : key_(mix64(seed ^ 0x6e62646b69742d72)) {}

void RandomBytes::fill(void* buf, size_t count, uint64_t offset) const {
  auto* p = static_cast<uint8_t*>(buf);
  while (count > 0) {
    const size_t skip = offset % block_bytes;
    const size_t n = std::min(count, block_bytes - skip);
    Xoshiro256StarStar gen = block_generator(key_, offset / block_bytes);
    fill_from_block(p, n, skip, gen);
    p += n;
    offset += n;
    count -= n;
  }
}

uint32_t random_seed() { return std::random_device{}(); }

}  // namespace plugins_common
