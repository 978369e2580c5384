// The VFIO side of the virtio-blk-vfio-pci driver (kernel
// Documentation/driver-api/vfio.rst): from a PCI function's sysfs
// directory to an open device with a type-1 IOMMU container, its regions
// (configuration space, BARs), DMA mappings and MSI-X eventfds.  Every
// failure throws blkio::Error with a message that says what to fix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace blkio::vfio_pci {

// What sysfs says about the function at `path`
// (/sys/bus/pci/devices/DDDD:BB:DD.F): its address and IOMMU group.
// Throws when the path is missing, has no IOMMU group, or is not bound
// to vfio-pci.
struct FunctionInfo {
  std::string address;  // DDDD:BB:DD.F, what VFIO_GROUP_GET_DEVICE_FD wants
  std::string group;    // the IOMMU group number
};
FunctionInfo inspect_function(const std::string& path);

class Vfio {
 public:
  Vfio() = default;
  ~Vfio();
  Vfio(const Vfio&) = delete;
  Vfio& operator=(const Vfio&) = delete;

  // Container, group and device; `dev_vfio` is normally /dev/vfio.
  void open(const FunctionInfo& f, const std::string& dev_vfio = "/dev/vfio");

  // PCI configuration space (region 7).
  void read_config(size_t offset, std::span<uint8_t> out) const;
  void write_config(size_t offset, std::span<const uint8_t> in) const;
  // Maps BAR `bar` whole; returns its address and sets `size`.
  uint8_t* map_bar(int bar, uint64_t& size);

  // Lets the device reach [addr, addr+len) at `iova` (read and write).
  void map_dma(const void* addr, size_t len, uint64_t iova);
  void unmap_dma(uint64_t iova, size_t len);

  // Routes MSI-X vectors 0..fds.size()-1 to the eventfds.
  void enable_msix(std::span<const int> fds);
  uint32_t msix_vectors() const;

 private:
  struct Mapping {
    void* addr;
    size_t len;
  };
  int container_ = -1, group_ = -1, device_ = -1;
  uint64_t config_offset_ = 0;
  std::vector<Mapping> bars_;
};

}  // namespace blkio::vfio_pci
