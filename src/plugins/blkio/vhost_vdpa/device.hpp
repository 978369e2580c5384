// A virtio-blk device behind /dev/vhost-vdpa-N: the vhost ioctls as a
// virtio transport (status, features, configuration), our memory mapped
// with IOTLB messages written to the device node, and queues kicked and
// completed through eventfds as with vhost-user.
#pragma once

#include <cstdint>
#include <string>

#include "virtio/pinned_device.hpp"

namespace blkio::vhost_vdpa {

class VdpaDevice final : public virtio::PinnedDevice {
 public:
  // vhost-vdpa translates every device address through its IOTLB, so
  // ACCESS_PLATFORM is accepted when offered but not required.
  VdpaDevice() : PinnedDevice("virtio-blk-vhost-vdpa", 0) {}
  ~VdpaDevice() override;  // resets the device, then closes it

  // Opens `path` (or takes `fd` when path is empty), checks it is a block
  // device and negotiates.  Throws blkio::Error.
  void connect(const std::string& path, int fd);
  void start(int num_queues, uint16_t queue_size) override;

  uint8_t get_status() override;
  void set_status(uint8_t status) override;
  uint64_t device_features() override;
  void set_driver_features(uint64_t features) override;
  void read_config(std::span<uint8_t> out) override;

 protected:
  void map_iova(const void* addr, size_t len, uint64_t iova) override;
  void unmap_iova(uint64_t iova, size_t len) override;

 private:
  void open_node(const std::string& path, int fd);
  void setup_backend();
  void write_iotlb(const uint8_t* msg, size_t len);
  void setup_queue(uint32_t index, uint16_t size);

  int fd_ = -1;
};

}  // namespace blkio::vhost_vdpa
