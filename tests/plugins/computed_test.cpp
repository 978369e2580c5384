// Unit tests of the computed-content helpers: the pattern fill against a
// byte-at-a-time definition, the random stream read in pieces against the
// same stream read whole, and sparse-random's layout (contiguous, aligned,
// in the proportions asked).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "fill.hpp"
#include "layout.hpp"
#include "random_bytes.hpp"

namespace {

using plugins_common::RandomBytes;

TEST(FillPattern, MatchesDefinitionAtAnyOffsetAndLength) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> buf(20000);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t offset = rng() % (uint64_t{1} << 62);
    const size_t count = rng() % buf.size();
    plugins_common::fill_pattern(buf.data(), count, offset);
    for (size_t j = 0; j < count; ++j) {
      const uint64_t at = offset + j;
      const uint64_t word = at & ~uint64_t{7};
      ASSERT_EQ(buf[j], uint8_t(word >> (8 * (7 - at % 8)))) << offset << "+" << j;
    }
  }
}

TEST(FillPattern, EndOfLargestDisk) {
  uint8_t buf[7];
  plugins_common::fill_pattern(buf, sizeof buf, (uint64_t{1} << 63) - 8);
  const uint8_t want[] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(0, std::memcmp(buf, want, sizeof buf));
}

TEST(RandomBytes, PiecesMatchTheWhole) {
  const RandomBytes random(42);
  std::vector<uint8_t> whole(64 * 1024), piece(whole.size());
  const uint64_t base = uint64_t{1} << 40;
  random.fill(whole.data(), whole.size(), base);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 1000; ++i) {
    const size_t start = rng() % whole.size();
    const size_t count = rng() % (whole.size() - start + 1);
    random.fill(piece.data(), count, base + start);
    ASSERT_EQ(0, std::memcmp(piece.data(), whole.data() + start, count)) << start << "+" << count;
  }
}

TEST(RandomBytes, SeedsDifferAndBytesAreBalanced) {
  std::vector<uint8_t> a(1 << 20), b(a.size());
  RandomBytes(1).fill(a.data(), a.size(), 0);
  RandomBytes(2).fill(b.data(), b.size(), 0);
  EXPECT_NE(a, b);
  size_t ones = 0;
  for (uint8_t byte : a) ones += __builtin_popcount(byte);
  EXPECT_NEAR(double(ones) / (a.size() * 8), 0.5, 0.001);
}

struct Totals {
  uint64_t data = 0, hole = 0, data_runs = 0;
};

Totals walk_all(const sparse_random::Layout& layout, uint64_t size) {
  Totals t;
  uint64_t next = 0;
  bool last_data = false;
  layout.walk(0, size, [&](uint64_t offset, uint64_t length, bool data) {
    EXPECT_EQ(offset, next);
    EXPECT_GT(length, 0u);
    EXPECT_EQ(offset % sparse_random::block_bytes, 0u);
    next = offset + length;
    (data ? t.data : t.hole) += length;
    if (data && !last_data) ++t.data_runs;
    last_data = data;
    return true;
  });
  EXPECT_EQ(next, size);
  return t;
}

TEST(Layout, ProportionAndRunLength) {
  const RandomBytes random(7);
  const uint64_t size = uint64_t{64} << 30;
  for (double percent : {1.0, 10.0, 50.0, 70.0, 99.0}) {
    const uint64_t runlength = 1 << 20;
    const sparse_random::Layout layout(random, percent, runlength);
    const Totals t = walk_all(layout, size);
    EXPECT_NEAR(100.0 * double(t.data) / double(size), percent, percent * 0.1 + 0.5) << percent;
    // Adjacent runs merge, so runs come out somewhat longer than asked.
    const double mean_run = double(t.data) / double(t.data_runs);
    EXPECT_GT(mean_run, runlength * 0.8) << percent;
    if (percent <= 50) {
      EXPECT_LT(mean_run, runlength * 1.3) << percent;
    }
  }
}

TEST(Layout, Extremes) {
  const RandomBytes random(7);
  const uint64_t size = uint64_t{1} << 40;
  EXPECT_EQ(walk_all(sparse_random::Layout(random, 0, 1 << 20), size).data, 0u);
  EXPECT_EQ(walk_all(sparse_random::Layout(random, 100, 1 << 20), size).hole, 0u);
  // Holes shorter than a block on average: all data.
  EXPECT_EQ(walk_all(sparse_random::Layout(random, 99.99, 4096), size).hole, 0u);
  // Tiny runs and tiny percentages stay in range.
  walk_all(sparse_random::Layout(random, 1e-9, 1), uint64_t{1} << 30);
}

TEST(Layout, AnyOffsetAgreesWithAWalkFromTheStart) {
  const RandomBytes random(3);
  const sparse_random::Layout layout(random, 30, 256 * 1024);
  const uint64_t size = uint64_t{1} << 30;
  std::vector<bool> data_block(size / sparse_random::block_bytes);
  layout.walk(0, size, [&](uint64_t offset, uint64_t length, bool data) {
    for (uint64_t b = offset; b < offset + length; b += sparse_random::block_bytes)
      data_block[b / sparse_random::block_bytes] = data;
    return true;
  });
  std::mt19937_64 rng(4);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t offset = rng() % size;
    const uint64_t count = 1 + rng() % std::min<uint64_t>(size - offset, 1 << 22);
    layout.walk(offset, count, [&](uint64_t at, uint64_t length, bool data) {
      EXPECT_EQ(data_block[at / sparse_random::block_bytes], data);
      EXPECT_EQ(data_block[(at + length - 1) / sparse_random::block_bytes], data);
      return true;
    });
  }
}

}  // namespace
