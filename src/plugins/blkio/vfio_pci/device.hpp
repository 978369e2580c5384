// A virtio-blk device on a PCI function bound to vfio-pci: the virtio-pci
// modern interface (common configuration, notify and device configuration
// structures in memory-mapped BARs) as a virtio transport, our memory
// made reachable through the IOMMU at allocated IOVAs, and queues that
// are kicked by a register write and complete through MSI-X eventfds.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "vfio_pci/vfio.hpp"
#include "vfio_pci/virtio_pci.hpp"
#include "virtio/pinned_device.hpp"

namespace blkio::vfio_pci {

class PciDevice final : public virtio::PinnedDevice {
 public:
  // The device's DMA must go through the IOMMU where our IOVAs are mapped.
  PciDevice()
      : PinnedDevice("virtio-blk-vfio-pci", virtio::bit(virtio::feature::access_platform)) {}
  ~PciDevice() override;  // resets the device before our memory goes away

  // Opens the function at `path` (its sysfs directory) and negotiates.
  // Throws blkio::Error.
  void connect(const std::string& path);
  void start(int num_queues, uint16_t queue_size) override;

  // virtio::Transport over the common configuration structure.
  uint8_t get_status() override;
  void set_status(uint8_t status) override;
  uint64_t device_features() override;
  void set_driver_features(uint64_t features) override;
  void read_config(std::span<uint8_t> out) override;

 protected:
  void map_iova(const void* addr, size_t len, uint64_t iova) override {
    vfio_.map_dma(addr, len, iova);
  }
  void unmap_iova(uint64_t iova, size_t len) override { vfio_.unmap_dma(iova, len); }

 private:
  void enable_bus_master();
  uint8_t* map_structure(const StructureLocation& s, const char* what);
  uint16_t common_queue_size(int num_queues, uint16_t wanted);
  void setup_queue(uint16_t index, uint16_t size);

  Vfio vfio_;
  VirtioCaps caps_;
  std::array<uint8_t*, 6> bars_{};
  std::array<uint64_t, 6> bar_sizes_{};
  uint8_t* common_ = nullptr;
  uint8_t* device_cfg_ = nullptr;
  uint8_t* notify_ = nullptr;
};

}  // namespace blkio::vfio_pci
