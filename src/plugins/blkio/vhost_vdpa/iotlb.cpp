#include "vhost_vdpa/iotlb.hpp"

#include <cstring>

namespace blkio::vhost_vdpa {

namespace {

template <typename T>
void store(IotlbMessage& m, size_t at, T value) {
  std::memcpy(m.data() + at, &value, sizeof value);  // little-endian hosts only (blk.hpp)
}

}  // namespace

IotlbMessage encode_iotlb(IotlbOp op, const IotlbEntry& e) {
  IotlbMessage m{};
  store<uint32_t>(m, iotlb_layout::type, msg_v2);
  store<uint32_t>(m, iotlb_layout::asid, 0);
  store<uint64_t>(m, iotlb_layout::iova, e.iova);
  store<uint64_t>(m, iotlb_layout::size, e.size);
  store<uint64_t>(m, iotlb_layout::uaddr, op == IotlbOp::update ? e.uaddr : 0);
  m[iotlb_layout::perm] = op == IotlbOp::update ? e.perm : 0;
  m[iotlb_layout::op] = uint8_t(op);
  return m;
}

}  // namespace blkio::vhost_vdpa
