#include "virtio/pinned_device.hpp"

namespace blkio::virtio {

PinnedDevice::PinnedDevice(std::string who, uint64_t required)
    : who_(std::move(who)),
      required_(required),
      memory_(
          who_, [this](const void* a, size_t n, uint64_t iova) { map_iova(a, n, iova); },
          [this](uint64_t iova, size_t n) { unmap_iova(iova, n); }) {}

void PinnedDevice::negotiate_and_configure() {
  features_ = negotiate(*this, wanted_features, who_, required_);
  std::vector<uint8_t> raw(config_size);
  read_config(raw);
  limits_ = derive_limits(parse_config(raw), features_);
}

void PinnedDevice::allocate_rings(int count, uint16_t size) {
  per_queue_ = queue_area_bytes(size);
  rings_.allocate(per_queue_ * size_t(count));
  memory_.map(rings_.addr(), rings_.len());
}

QueueParts& PinnedDevice::add_queue(int index, uint16_t size) {
  uint8_t* mem = rings_.addr() + per_queue_ * size_t(index);
  auto q = std::make_unique<QueueParts>();
  q->ring = std::make_unique<SplitQueue>(mem, size, (features_ & bit(feature::event_idx)) != 0);
  q->slots = mem + queue_slots_at(size);
  queues_.push_back(std::move(q));
  return *queues_.back();
}

uint16_t floor_power_of_two(uint16_t n) {
  while (n & (n - 1)) n &= uint16_t(n - 1);
  return n;
}

}  // namespace blkio::virtio
