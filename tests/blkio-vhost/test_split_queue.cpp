// Split virtqueue: layout maths, descriptor chains, the free list,
// notification suppression with and without EVENT_IDX.
#include <gtest/gtest.h>

#include <vector>

#include "device_side.hpp"
#include "virtio/blk.hpp"
#include "virtio/split_queue.hpp"

using namespace blkio::virtio;

namespace {

struct Fixture {
  explicit Fixture(uint16_t size, bool event_idx = false)
      : mem(RingLayout::for_size(size).total),
        queue(mem.data(), size, event_idx),
        device(mem.data(), size) {}
  std::vector<uint8_t> mem;
  SplitQueue queue;
  DeviceSide device;
};

}  // namespace

TEST(RingLayout, MatchesTheSpecAlignment) {
  const RingLayout l = RingLayout::for_size(256);
  EXPECT_EQ(l.desc, 0u);
  EXPECT_EQ(l.avail, 16u * 256);
  EXPECT_EQ(l.used, 4096u + 6 + 2 * 256 + 2);  // avail ends at 4614, used aligned to 4
  EXPECT_EQ(l.used % 4, 0u);
  EXPECT_EQ(l.total % 4096, 0u);
  EXPECT_GE(l.total, l.used + 6 + 8 * 256);
  const RingLayout one = RingLayout::for_size(1);
  EXPECT_EQ(one.avail, 16u);
  EXPECT_EQ(one.used, 24u);
}

TEST(SplitQueue, ChainIsLinkedAndFlagged) {
  Fixture f(8);
  const Segment segs[] = {{0x1000, 16, false}, {0x2000, 4096, true}, {0x3000, 1, true}};
  const int head = f.queue.add_chain(segs);
  ASSERT_GE(head, 0);
  EXPECT_EQ(f.queue.free_descriptors(), 5);
  f.queue.publish(uint16_t(head));
  uint16_t got;
  const auto chain = f.device.next_chain(got);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(got, head);
  EXPECT_EQ(chain[0].addr, 0x1000u);
  EXPECT_EQ(chain[0].flags, desc_f_next);
  EXPECT_EQ(chain[1].len, 4096u);
  EXPECT_EQ(chain[1].flags, desc_f_next | desc_f_write);
  EXPECT_EQ(chain[2].flags, desc_f_write);
}

TEST(SplitQueue, FullQueueRefusesAndRecyclesDescriptors) {
  Fixture f(4);
  const Segment two[] = {{1, 1, false}, {2, 1, true}};
  const int a = f.queue.add_chain(two);
  const int b = f.queue.add_chain(two);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(f.queue.add_chain(two), -1);
  f.queue.publish(uint16_t(a));
  f.queue.publish(uint16_t(b));
  EXPECT_EQ(f.queue.in_flight(), 4);
  uint16_t head = 0;
  f.device.next_chain(head);
  f.device.complete(head, 1);
  uint32_t id, len;
  ASSERT_TRUE(f.queue.pop_used(id, len));
  EXPECT_EQ(id, uint32_t(a));
  EXPECT_FALSE(f.queue.pop_used(id, len));
  EXPECT_EQ(f.queue.free_descriptors(), 2);
  // Many rounds wrap the 16-bit indexes and the ring positions.
  for (int round = 0; round < 70000; ++round) {
    const int c = f.queue.add_chain(two);
    ASSERT_GE(c, 0);
    f.queue.publish(uint16_t(c));
    ASSERT_FALSE(f.device.next_chain(head).empty());
    f.device.complete(head, 1);
    ASSERT_TRUE(f.queue.pop_used(id, len));
  }
  EXPECT_EQ(f.queue.free_descriptors(), 2);
}

TEST(SplitQueue, KickFollowsNoNotifyFlag) {
  Fixture f(8);
  const Segment one[] = {{1, 1, true}};
  EXPECT_FALSE(f.queue.kick_needed());  // nothing new
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  EXPECT_TRUE(f.queue.kick_needed());
  f.device.set_used_flags(used_f_no_notify);
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  EXPECT_FALSE(f.queue.kick_needed());
}

TEST(SplitQueue, KickFollowsAvailEvent) {
  Fixture f(8, true);
  const Segment one[] = {{1, 1, true}};
  f.device.set_avail_event(0);  // wake me when avail idx passes 0
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  EXPECT_TRUE(f.queue.kick_needed());
  // The device is still busy with entry 0 and wants a kick after entry 3.
  f.device.set_avail_event(3);
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  EXPECT_FALSE(f.queue.kick_needed());  // idx 1 -> 2
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  EXPECT_TRUE(f.queue.kick_needed());  // idx 2 -> 4 crosses 3
}

TEST(SplitQueue, CallsRequestedThroughUsedEventOrFlag) {
  Fixture plain(8);
  plain.queue.disable_calls();
  EXPECT_EQ(plain.device.avail_flags(), avail_f_no_interrupt);
  EXPECT_FALSE(plain.queue.enable_calls());
  EXPECT_EQ(plain.device.avail_flags(), 0);

  Fixture f(8, true);
  const Segment one[] = {{1, 1, true}};
  f.queue.publish(uint16_t(f.queue.add_chain(one)));
  uint16_t head = 0;
  f.device.next_chain(head);
  f.device.complete(head, 1);
  // A completion already there: enable says so instead of letting us sleep.
  EXPECT_TRUE(f.queue.enable_calls());
  uint32_t id, len;
  ASSERT_TRUE(f.queue.pop_used(id, len));
  EXPECT_FALSE(f.queue.enable_calls());
  EXPECT_EQ(f.device.used_event(), 1);  // the next completion is to be signalled
}
