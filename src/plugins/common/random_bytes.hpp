// A seeded pseudo-random byte stream that can be read at any offset
// without generating what comes before it: the content of the random
// plugin and of sparse-random's blocks.
//
// The disk is cut into 4 KiB blocks; each block is the output of its own
// xoshiro256** generator (Blackman and Vigna's public-domain design, a few
// cycles per 8 bytes) whose state is derived from the seed and the block
// number with the splitmix64 finaliser.  A read therefore starts wherever
// it likes at the cost of seeding one generator, and a 1 TiB disk costs
// nothing to set up.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plugins_common {

// splitmix64's finaliser: a bijective mix of 64 bits, for hashing counters.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

class RandomBytes {
 public:
  static constexpr size_t block_bytes = 4096;

  explicit RandomBytes(uint64_t seed);

  // The `count` bytes of the stream that start at `offset`.
  void fill(void* buf, size_t count, uint64_t offset) const;

  // A value that depends only on the seed, `stream` and `n`: per-block
  // decisions of the plugins (one stream per kind of decision).
  uint64_t hash(uint64_t stream, uint64_t n) const {
    return mix64(key_ ^ mix64(n + stream * 0x9e3779b97f4a7c15));
  }

 private:
  uint64_t key_;
};

// A seed for when the user gave none (as nbdkit does, a different disk
// every run).
uint32_t random_seed();

}  // namespace plugins_common
