// What the three virtio-blk drivers (vhost-user, vfio-pci, vhost-vdpa)
// share above their transport: libblkio's `path`, `queue-size` and
// `max-queue-size` properties, the common properties derived from the
// device's features and configuration, and the driver queues ("lanes")
// over the device's virtqueues.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "driver.hpp"
#include "virtio/blk.hpp"
#include "virtio/blk_queue.hpp"
#include "virtio/pinned_device.hpp"

namespace blkio::virtio {

class BlkDriver : public Driver {
 public:
  static constexpr int32_t max_queue_size = 32768;
  // Queues beyond the device's virtqueues share them (see blk_queue.hpp):
  // max-queues says how many we offer, not how many virtqueues there are.
  static constexpr int32_t max_lanes = 64;

 protected:
  // With `takes_fd` false, setting `fd` fails as libblkio's vhost-user and
  // vfio-pci drivers do; a driver that takes one adds the property itself.
  BlkDriver(std::string name, bool takes_fd);

  // Fills info_ from the device's limits; the memory region rules differ
  // per transport.
  void set_info(const Limits& l, uint64_t max_mem_regions, bool needs_mem_region_fd);
  // EROFS "Device is read-only" unless `read-only` was set for an RO device.
  void check_writable(const Limits& l) const;
  // How many virtqueues to start: num-queues, at most the device's.
  int virtqueues_wanted(const Limits& l) const;
  // One SharedRing per setup, then num_queues_ lanes spread over them.
  std::vector<std::unique_ptr<Queue>> make_lanes(const std::vector<RingSetup>& setups,
                                                 const Limits& l);
  // The transports behind an IOMMU (vfio-pci, vhost-vdpa): starts the
  // device's virtqueues and the lanes over them.
  std::vector<std::unique_ptr<Queue>> start_pinned(PinnedDevice& device);

  std::string path_;
  int32_t queue_size_ = 256;

 private:
  std::vector<std::unique_ptr<SharedRing>> rings_;
};

}  // namespace blkio::virtio
