// virtio-blk request encoding and completion handling, configuration
// parsing and the limits derived from it.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "device_side.hpp"
#include "virtio/blk.hpp"
#include "virtio/blk_engine.hpp"

using namespace blkio::virtio;

namespace {

// One block of "device-visible" memory holding the rings, the slots and a
// data buffer, mapped at a device address unlike its own to check that
// every address is translated.
struct Fixture {
  static constexpr uint16_t size = 16;
  static constexpr uint64_t device_base = 0x40000000;
  Fixture()
      : layout(RingLayout::for_size(size)),
        mem(layout.total + size * BlkEngine::slot_bytes + 65536),
        queue(mem.data(), size, false),
        device(mem.data(), size) {
    map.add({mem.data(), mem.size(), device_base});
    engine.emplace(queue, map, slots());
  }
  uint8_t* slots() { return mem.data() + layout.total; }
  uint8_t* data() { return slots() + size * BlkEngine::slot_bytes; }
  uint8_t* at(uint64_t device_addr) { return mem.data() + (device_addr - device_base); }
  ReqHeader header(const DeviceDesc& d) {
    ReqHeader h;
    EXPECT_EQ(d.len, sizeof h);
    std::memcpy(&h, at(d.addr), sizeof h);
    return h;
  }

  RingLayout layout;
  std::vector<uint8_t> mem;
  SplitQueue queue;
  DeviceSide device;
  AddressMap map;
  std::optional<BlkEngine> engine;
};

}  // namespace

TEST(BlkEngine, ReadBecomesHeaderDataStatus) {
  Fixture f;
  iovec iov[] = {{f.data(), 4096}, {f.data() + 8192, 512}};
  Request r;
  r.op = Op::read;
  r.offset = 3 * 512;
  r.iov = iov;
  r.tag = 77;
  ASSERT_EQ(f.engine->submit(r), 0);
  uint16_t head = 0;
  const auto chain = f.device.next_chain(head);
  ASSERT_EQ(chain.size(), 4u);
  const ReqHeader h = f.header(chain[0]);
  EXPECT_EQ(h.type, uint32_t(ReqType::in));
  EXPECT_EQ(h.sector, 3u);
  EXPECT_EQ(chain[0].flags & desc_f_write, 0);
  EXPECT_EQ(chain[1].addr, Fixture::device_base + uint64_t(f.data() - f.mem.data()));
  EXPECT_EQ(chain[1].len, 4096u);
  EXPECT_TRUE(chain[1].flags & desc_f_write);
  EXPECT_EQ(chain[2].len, 512u);
  EXPECT_EQ(chain[3].len, 1u);
  EXPECT_TRUE(chain[3].flags & desc_f_write);
  *f.at(chain[3].addr) = status_ok;
  f.device.complete(head, 4096 + 512 + 1);
  Completion c;
  ASSERT_TRUE(f.engine->reap(c));
  EXPECT_EQ(c.tag, 77u);
  EXPECT_EQ(c.ret, 0);
  EXPECT_FALSE(f.engine->reap(c));
}

TEST(BlkEngine, WriteDataIsDeviceReadable) {
  Fixture f;
  iovec iov[] = {{f.data(), 1024}};
  Request r;
  r.op = Op::write;
  r.offset = 1 << 20;
  r.iov = iov;
  ASSERT_EQ(f.engine->submit(r), 0);
  uint16_t head = 0;
  const auto chain = f.device.next_chain(head);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(f.header(chain[0]).type, uint32_t(ReqType::out));
  EXPECT_EQ(f.header(chain[0]).sector, 2048u);
  EXPECT_EQ(chain[1].flags & desc_f_write, 0);
}

TEST(BlkEngine, ZeroesAndDiscardCarryOneSegment) {
  Fixture f;
  Request r;
  r.op = Op::write_zeroes;
  r.offset = 4096;
  r.len = 16 << 20;
  r.unmap = true;
  ASSERT_EQ(f.engine->submit(r), 0);
  r.op = Op::discard;
  ASSERT_EQ(f.engine->submit(r), 0);
  for (const auto& [type, flags] : {std::pair{ReqType::write_zeroes, segment_flag_unmap},
                                   std::pair{ReqType::discard, 0u}}) {
    uint16_t head = 0;
    const auto chain = f.device.next_chain(head);
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(f.header(chain[0]).type, uint32_t(type));
    RangeSegment seg;
    ASSERT_EQ(chain[1].len, sizeof seg);
    std::memcpy(&seg, f.at(chain[1].addr), sizeof seg);
    EXPECT_EQ(seg.sector, 8u);
    EXPECT_EQ(seg.num_sectors, 32768u);
    EXPECT_EQ(seg.flags, flags);
  }
}

TEST(BlkEngine, FlushHasNoData) {
  Fixture f;
  Request r;
  r.op = Op::flush;
  ASSERT_EQ(f.engine->submit(r), 0);
  uint16_t head = 0;
  const auto chain = f.device.next_chain(head);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(f.header(chain[0]).type, uint32_t(ReqType::flush));
}

TEST(BlkEngine, StatusBecomesErrno) {
  Fixture f;
  Request r;
  r.op = Op::flush;
  for (int i = 0; i < 3; ++i) {
    r.tag = uint64_t(i);
    ASSERT_EQ(f.engine->submit(r), 0);
  }
  const uint8_t status[] = {status_unsupp, status_ioerr, 0xff /* never written */};
  for (uint8_t s : status) {
    uint16_t head = 0;
    const auto chain = f.device.next_chain(head);
    if (s != 0xff) *f.at(chain.back().addr) = s;
    f.device.complete(head, 1);
  }
  Completion c;
  ASSERT_TRUE(f.engine->reap(c));
  EXPECT_EQ(c.ret, -ENOTSUP);
  ASSERT_TRUE(f.engine->reap(c));
  EXPECT_EQ(c.ret, -EIO);
  ASSERT_TRUE(f.engine->reap(c));
  EXPECT_EQ(c.ret, -EIO);
}

TEST(BlkEngine, RefusesBadRequests) {
  Fixture f;
  std::vector<uint8_t> outside(512);
  iovec bad[] = {{outside.data(), outside.size()}};
  Request r;
  r.op = Op::read;
  r.iov = bad;
  EXPECT_EQ(f.engine->submit(r), -EFAULT);
  iovec good[] = {{f.data(), 512}};
  r.iov = good;
  r.offset = 100;
  EXPECT_EQ(f.engine->submit(r), -EINVAL);
  r.op = Op::discard;
  r.offset = 0;
  r.len = 0;
  EXPECT_EQ(f.engine->submit(r), -EINVAL);
  // A full queue says EAGAIN (16 descriptors, 2 per flush).
  r.op = Op::flush;
  for (int i = 0; i < 8; ++i) ASSERT_EQ(f.engine->submit(r), 0);
  EXPECT_EQ(f.engine->submit(r), -EAGAIN);
}

TEST(BlkConfig, ParsesQemuStorageDaemonValues) {
  uint8_t raw[config_size] = {};
  const uint64_t capacity = 131072;
  std::memcpy(raw, &capacity, 8);
  const uint32_t seg_max = 126, blk = 4096, opt = 1, disc = 32768, align = 8;
  std::memcpy(raw + 12, &seg_max, 4);
  std::memcpy(raw + 20, &blk, 4);
  std::memcpy(raw + 28, &opt, 4);
  const uint16_t queues = 2;
  std::memcpy(raw + 34, &queues, 2);
  std::memcpy(raw + 36, &disc, 4);
  std::memcpy(raw + 44, &align, 4);
  std::memcpy(raw + 48, &disc, 4);
  const Config c = parse_config(raw);
  EXPECT_EQ(c.capacity, capacity);
  EXPECT_EQ(c.seg_max, 126u);
  EXPECT_EQ(c.blk_size, 4096u);
  EXPECT_EQ(c.num_queues, 2);
  EXPECT_EQ(c.max_write_zeroes_sectors, 32768u);

  const uint64_t features = bit(feature::size_max) | bit(feature::seg_max) |
                            bit(feature::blk_size) | bit(feature::flush) |
                            bit(feature::topology) | bit(feature::config_wce) |
                            bit(feature::mq) | bit(feature::discard) |
                            bit(feature::write_zeroes) | bit(feature::version_1);
  const Limits l = derive_limits(c, features);
  EXPECT_EQ(l.capacity, 64u << 20);
  EXPECT_EQ(l.request_alignment, 4096);
  EXPECT_EQ(l.optimal_io_alignment, 4096);
  EXPECT_EQ(l.optimal_io_size, 4096);
  EXPECT_EQ(l.max_segments, 126);
  EXPECT_EQ(l.max_transfer, 0);  // size_max 0: no limit
  EXPECT_EQ(l.max_discard_len, 16u << 20);
  EXPECT_EQ(l.max_write_zeroes_len, 16u << 20);
  EXPECT_EQ(l.discard_alignment, 4096);
  EXPECT_EQ(l.max_queues, 2);
  EXPECT_TRUE(l.can_flush);
  EXPECT_FALSE(l.flush_needed);  // CONFIG_WCE and writeback 0
  EXPECT_FALSE(l.read_only);

  const Limits bare = derive_limits(c, bit(feature::ro) | bit(feature::version_1));
  EXPECT_EQ(bare.request_alignment, 512);
  EXPECT_EQ(bare.max_segments, 1);
  EXPECT_EQ(bare.max_queues, 1);
  EXPECT_TRUE(bare.read_only);
  EXPECT_FALSE(bare.can_discard);
  EXPECT_FALSE(bare.can_flush);
}
