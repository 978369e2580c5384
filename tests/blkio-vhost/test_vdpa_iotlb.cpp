// vhost-vdpa IOTLB messages: our byte-by-byte encoding against the
// kernel's struct vhost_msg_v2 filled field by field.
#include <gtest/gtest.h>
// <linux/virtio_ring.h> (via <linux/vhost.h>) has legacy helpers that are not
// valid C++; we need none of them.
#define VIRTIO_RING_NO_LEGACY
#include <linux/vhost.h>
#include <linux/virtio_ids.h>

#include <cstddef>
#include <cstring>

#include "vhost_vdpa/iotlb.hpp"

using namespace blkio::vhost_vdpa;

TEST(VdpaIotlb, LayoutMatchesTheKernelHeader) {
  EXPECT_EQ(sizeof(vhost_msg_v2), iotlb_layout::total);
  EXPECT_EQ(offsetof(vhost_msg_v2, type), iotlb_layout::type);
  EXPECT_EQ(offsetof(vhost_msg_v2, asid), iotlb_layout::asid);
  const size_t base = offsetof(vhost_msg_v2, iotlb);
  EXPECT_EQ(base + offsetof(vhost_iotlb_msg, iova), iotlb_layout::iova);
  EXPECT_EQ(base + offsetof(vhost_iotlb_msg, size), iotlb_layout::size);
  EXPECT_EQ(base + offsetof(vhost_iotlb_msg, uaddr), iotlb_layout::uaddr);
  EXPECT_EQ(base + offsetof(vhost_iotlb_msg, perm), iotlb_layout::perm);
  EXPECT_EQ(base + offsetof(vhost_iotlb_msg, type), iotlb_layout::op);
  EXPECT_EQ(VHOST_IOTLB_MSG_V2, msg_v2);
  EXPECT_EQ(VHOST_IOTLB_UPDATE, int(IotlbOp::update));
  EXPECT_EQ(VHOST_IOTLB_INVALIDATE, int(IotlbOp::invalidate));
  EXPECT_EQ(VHOST_ACCESS_RW, access::read_write);
  EXPECT_EQ(VHOST_BACKEND_F_IOTLB_MSG_V2, backend_feature::iotlb_msg_v2);
  EXPECT_EQ(VIRTIO_ID_BLOCK, virtio_id_block);
}

TEST(VdpaIotlb, UpdateEncodesEveryField) {
  const IotlbEntry e{0x100000000, 0x200000, 0x7f0012345000, access::read_write};
  const IotlbMessage m = encode_iotlb(IotlbOp::update, e);
  vhost_msg_v2 expected;
  std::memset(&expected, 0, sizeof expected);
  expected.type = VHOST_IOTLB_MSG_V2;
  expected.asid = 0;
  expected.iotlb.iova = e.iova;
  expected.iotlb.size = e.size;
  expected.iotlb.uaddr = e.uaddr;
  expected.iotlb.perm = VHOST_ACCESS_RW;
  expected.iotlb.type = VHOST_IOTLB_UPDATE;
  EXPECT_EQ(std::memcmp(m.data(), &expected, sizeof expected), 0);
  // Spot checks in wire order, little-endian.
  EXPECT_EQ(m[0], 2);
  EXPECT_EQ(m[8 + 4], 1);        // iova 0x1_0000_0000
  EXPECT_EQ(m[16 + 2], 0x20);    // size 0x20_0000
  EXPECT_EQ(m[24 + 1], 0x50);    // uaddr ...5000
  EXPECT_EQ(m[32], 3);
  EXPECT_EQ(m[33], 2);
}

TEST(VdpaIotlb, InvalidateCarriesOnlyTheRange) {
  const IotlbMessage m =
      encode_iotlb(IotlbOp::invalidate, {0x1000, 0x3000, 0xdeadbeef, access::read_write});
  vhost_msg_v2 expected;
  std::memset(&expected, 0, sizeof expected);
  expected.type = VHOST_IOTLB_MSG_V2;
  expected.iotlb.iova = 0x1000;
  expected.iotlb.size = 0x3000;
  expected.iotlb.type = VHOST_IOTLB_INVALIDATE;
  EXPECT_EQ(std::memcmp(m.data(), &expected, sizeof expected), 0);
}
