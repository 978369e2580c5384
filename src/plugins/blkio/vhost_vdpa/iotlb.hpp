// The pure parts of the vhost-vdpa front end: the IOTLB messages written
// to /dev/vhost-vdpa-N to map our memory (struct vhost_msg_v2 of
// <linux/vhost_types.h>), encoded byte by byte so the layout is explicit
// and testable without a vDPA device.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace blkio::vhost_vdpa {

// vhost_msg_v2.type: the message format.
inline constexpr uint32_t msg_v2 = 2;  // VHOST_IOTLB_MSG_V2

// vhost_iotlb_msg.type.
enum class IotlbOp : uint8_t {
  update = 2,      // VHOST_IOTLB_UPDATE: map [iova, iova+size) to uaddr
  invalidate = 3,  // VHOST_IOTLB_INVALIDATE: unmap [iova, iova+size)
};

// vhost_iotlb_msg.perm.
namespace access {
inline constexpr uint8_t read_only = 1;
inline constexpr uint8_t write_only = 2;
inline constexpr uint8_t read_write = 3;
}  // namespace access

// Backend feature bits (VHOST_GET/SET_BACKEND_FEATURES).
namespace backend_feature {
inline constexpr int iotlb_msg_v2 = 1;
inline constexpr int iotlb_batch = 2;
}  // namespace backend_feature

// struct vhost_msg_v2: le32 type, le32 asid, then the union of which the
// IOTLB message takes le64 iova @8, le64 size @16, le64 uaddr @24,
// u8 perm @32, u8 type @33; the union is 64 bytes, 72 in all.
namespace iotlb_layout {
inline constexpr size_t type = 0, asid = 4, iova = 8, size = 16, uaddr = 24, perm = 32,
                        op = 33, total = 72;
}
using IotlbMessage = std::array<uint8_t, iotlb_layout::total>;

struct IotlbEntry {
  uint64_t iova = 0;
  uint64_t size = 0;
  uint64_t uaddr = 0;
  uint8_t perm = access::read_write;
};

// The message for one operation in address space 0.
IotlbMessage encode_iotlb(IotlbOp op, const IotlbEntry& e);

// vhost-vdpa's device id for a block device (VIRTIO_ID_BLOCK).
inline constexpr uint32_t virtio_id_block = 2;

}  // namespace blkio::vhost_vdpa
