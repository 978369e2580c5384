#include <cerrno>

#include <gtest/gtest.h>
#include <nbdkit/plugin.hpp>

namespace {

using nbdkit::Extent;
using nbdkit::ExtentList;
namespace extent = nbdkit::extent;

void expect_extents(const ExtentList& list, std::initializer_list<Extent> expected) {
  ASSERT_EQ(list.extents().size(), expected.size());
  size_t i = 0;
  for (const Extent& e : expected) {
    EXPECT_EQ(list.extents()[i].offset, e.offset) << "extent " << i;
    EXPECT_EQ(list.extents()[i].length, e.length) << "extent " << i;
    EXPECT_EQ(list.extents()[i].type, e.type) << "extent " << i;
    ++i;
  }
}

TEST(ExtentList, EmptyListStartsAtStart) {
  ExtentList list(100, 200);
  EXPECT_EQ(list.next_offset(), 100u);
  EXPECT_FALSE(list.complete());
  EXPECT_EQ(list.start(), 100u);
  EXPECT_EQ(list.end(), 200u);
}

TEST(ExtentList, ClipsBothEnds) {
  ExtentList list(100, 200);
  EXPECT_EQ(list.add(0, 150, extent::data), 0);
  EXPECT_EQ(list.add(150, 1000, extent::hole | extent::zero), 0);
  expect_extents(list, {{100, 50, extent::data}, {150, 50, extent::hole | extent::zero}});
  EXPECT_TRUE(list.complete());
  EXPECT_EQ(list.next_offset(), 200u);
}

TEST(ExtentList, MergesAdjacentSameType) {
  ExtentList list(0, 1000);
  EXPECT_EQ(list.add(0, 10, extent::zero), 0);
  EXPECT_EQ(list.add(10, 20, extent::zero), 0);
  EXPECT_EQ(list.add(30, 5, extent::data), 0);
  EXPECT_EQ(list.add(35, 5, extent::data), 0);
  EXPECT_EQ(list.add(40, 5, extent::zero), 0);
  expect_extents(list, {{0, 30, extent::zero}, {30, 10, extent::data}, {40, 5, extent::zero}});
  EXPECT_FALSE(list.complete());
}

TEST(ExtentList, IgnoresExtentsWhollyOutsideTheRange) {
  ExtentList list(100, 200);
  EXPECT_EQ(list.add(0, 50, extent::data), 0);
  EXPECT_EQ(list.add(50, 50, extent::data), 0);  // ends exactly at start
  EXPECT_TRUE(list.extents().empty());
  EXPECT_EQ(list.add(100, 100, extent::hole), 0);
  EXPECT_EQ(list.add(200, 50, extent::data), 0);
  EXPECT_EQ(list.add(250, 50, extent::zero), 0);  // still past the end: fine
  expect_extents(list, {{100, 100, extent::hole}});
}

TEST(ExtentList, ZeroLengthIsIgnored) {
  ExtentList list(0, 100);
  EXPECT_EQ(list.add(0, 0, extent::data), 0);
  EXPECT_TRUE(list.extents().empty());
}

TEST(ExtentList, RejectsGapsOverlapsAndDisorder) {
  ExtentList first_after_start(100, 200);
  EXPECT_EQ(first_after_start.add(101, 10, extent::data), EINVAL);

  ExtentList gap(0, 100);
  EXPECT_EQ(gap.add(0, 10, extent::data), 0);
  EXPECT_EQ(gap.add(11, 10, extent::data), EINVAL);

  ExtentList overlap(0, 100);
  EXPECT_EQ(overlap.add(0, 10, extent::data), 0);
  EXPECT_EQ(overlap.add(5, 10, extent::zero), EINVAL);

  ExtentList backwards_after_complete(0, 100);
  EXPECT_EQ(backwards_after_complete.add(0, 100, extent::data), 0);
  EXPECT_EQ(backwards_after_complete.add(50, 10, extent::data), EINVAL);

  ExtentList overflow(0, 100);
  EXPECT_EQ(overflow.add(UINT64_MAX - 5, 10, extent::data), EINVAL);
  // Failures leave what was there untouched.
  expect_extents(gap, {{0, 10, extent::data}});
}

TEST(ExtentList, ClearEmpties) {
  ExtentList list(0, 100);
  EXPECT_EQ(list.add(0, 100, extent::data), 0);
  list.clear();
  EXPECT_TRUE(list.extents().empty());
  EXPECT_EQ(list.next_offset(), 0u);
}

// The 2025 nbdkit CVEs: an off-by-one in the longest block status reply
// and a 32-bit overflow in extents.  A request covers at most 2^32 - 1
// bytes; extents larger than that, or ending on a 4 GiB boundary, must be
// clipped to exactly the request, never wrap to 0 or run one byte over.
TEST(ExtentList, LargestRequestClipsHugeExtents) {
  constexpr uint64_t kMaxCount = 0xffffffffu;
  for (uint64_t start : {0ull, 1ull, (4ull << 30) - 1, 4ull << 30}) {
    ExtentList list(start, start + kMaxCount);
    ASSERT_EQ(list.add(0, 1ull << 40, extent::hole), 0);
    expect_extents(list, {{start, kMaxCount, extent::hole}});
  }
}

TEST(ExtentList, MergedExtentsStayWithinTheRequest) {
  constexpr uint64_t kMaxCount = 0xffffffffu;
  ExtentList list(1, 1 + kMaxCount);
  // Same-type extents are merged: the merged length must not pass the
  // request either, whatever the pieces' sizes.
  ASSERT_EQ(list.add(0, 1ull << 31, extent::data), 0);
  ASSERT_EQ(list.add(1ull << 31, 1ull << 31, extent::data), 0);
  ASSERT_EQ(list.add(1ull << 32, 1ull << 32, extent::data), 0);
  expect_extents(list, {{1, kMaxCount, extent::data}});
  EXPECT_TRUE(list.complete());
}

TEST(ExtentList, ExtentEndingAtTopOfRangeIsRefusedNotWrapped) {
  ExtentList list(UINT64_MAX - 10, UINT64_MAX);
  EXPECT_EQ(list.add(UINT64_MAX - 10, 20, extent::data), EINVAL);
  EXPECT_EQ(list.add(UINT64_MAX - 10, 10, extent::data), 0);
  expect_extents(list, {{UINT64_MAX - 10, 10, extent::data}});
}

}  // namespace
