// What the vfio-pci and vhost-vdpa transports share: a virtio-blk device
// whose status the driver drives (virtio::Transport), which reaches our
// memory through an IOMMU at IOVAs we hand out, and whose rings live in
// our pinned anonymous memory.  A transport supplies the register or
// ioctl access, the IOMMU map/unmap and the queue setup.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "virtio/blk.hpp"
#include "virtio/queue_parts.hpp"
#include "virtio/transport.hpp"

namespace blkio::virtio {

class PinnedDevice : public Transport {
 public:
  // `required`: transport features the device must offer.
  PinnedDevice(std::string who, uint64_t required);
  PinnedDevice(const PinnedDevice&) = delete;
  PinnedDevice& operator=(const PinnedDevice&) = delete;

  // Each throws blkio::Error.
  const Limits& limits() const { return limits_; }
  void map_region(const void* addr, size_t len) { memory_.map(addr, len); }
  void unmap_region(const void* addr) { memory_.unmap(addr); }
  // Sets up at most `num_queues` queues of at most `queue_size` entries,
  // then DRIVER_OK.
  virtual void start(int num_queues, uint16_t queue_size) = 0;
  int num_queues() const { return int(queues_.size()); }
  QueueParts& queue(int i) { return *queues_[size_t(i)]; }
  const AddressMap& address_map() const { return memory_.address_map(); }

 protected:
  // The transport's IOMMU.
  virtual void map_iova(const void* addr, size_t len, uint64_t iova) = 0;
  virtual void unmap_iova(uint64_t iova, size_t len) = 0;

  // Once the transport is open: the handshake up to FEATURES_OK, then the
  // configuration and the limits derived from it.
  void negotiate_and_configure();
  // Memory for `count` queues of `size` entries, mapped for the device.
  void allocate_rings(int count, uint16_t size);
  // Queue `index`'s ring and request slots in that memory.
  QueueParts& add_queue(int index, uint16_t size);

  const std::string who_;
  const uint64_t required_;
  uint64_t features_ = 0;
  IommuMappings memory_;

 private:
  Limits limits_;
  AnonymousMemory rings_;
  size_t per_queue_ = 0;
  std::vector<std::unique_ptr<QueueParts>> queues_;
};

// The largest power of two not above `n` (split queue sizes must be one).
uint16_t floor_power_of_two(uint16_t n);

}  // namespace blkio::virtio
