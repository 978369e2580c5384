// The virtio-blk-vfio-pci driver: a virtio-blk PCI function bound to
// vfio-pci, driven from user space (libblkio's driver of the same name).
// `path` is the function's sysfs directory,
// /sys/bus/pci/devices/DDDD:BB:DD.F.  Memory regions need no file
// descriptor: they are pinned and mapped into the IOMMU.
#include <cerrno>
#include <memory>
#include <string>

#include "vfio_pci/device.hpp"
#include "virtio/blk_driver.hpp"

namespace blkio {

namespace {

// Type-1 IOMMU containers allow far more; the limit is the vIOMMU's.
constexpr uint64_t max_regions = 1024;

class VfioPciDriver final : public virtio::BlkDriver {
 public:
  VfioPciDriver() : BlkDriver("virtio-blk-vfio-pci", false) {}

  void map_mem_region(const MemRegion& r) override { device_.map_region(r.addr, r.len); }
  void unmap_mem_region(const MemRegion& r) override { device_.unmap_region(r.addr); }

 protected:
  void do_connect() override {
    if (path_.empty()) throw Error(EINVAL, "path must be set");
    device_.connect(path_);
    set_info(device_.limits(), max_regions, false);
  }

  std::vector<std::unique_ptr<Queue>> do_start() override { return start_pinned(device_); }

 private:
  vfio_pci::PciDevice device_;
};

}  // namespace

}  // namespace blkio

BLKIO_REGISTER_DRIVER("virtio-blk-vfio-pci", blkio::VfioPciDriver);
