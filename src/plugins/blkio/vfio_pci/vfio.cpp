#include "vfio_pci/vfio.hpp"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "properties.hpp"

namespace blkio::vfio_pci {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  const int err = errno;
  throw Error(err, what + ": " + std::strerror(err));
}

// The last component of a symlink's target ("" when it is no symlink).
std::string link_name(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  return ec ? std::string() : target.filename().string();
}

int open_or_explain(const std::string& node, int flags, const char* hint) {
  const int fd = ::open(node.c_str(), flags | O_CLOEXEC);
  if (fd == -1) {
    const int err = errno;
    throw Error(err, node + ": " + std::strerror(err) + hint);
  }
  return fd;
}

}  // namespace

FunctionInfo inspect_function(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == -1) fail_errno(path);
  if (!S_ISDIR(st.st_mode))
    throw Error(ENOTDIR, path + " is not a PCI function's sysfs directory "
                                "(expected /sys/bus/pci/devices/DDDD:BB:DD.F)");
  FunctionInfo f;
  std::error_code ec;
  f.address = fs::canonical(path, ec).filename().string();
  if (ec) f.address = fs::path(path).filename().string();
  f.group = link_name(fs::path(path) / "iommu_group");
  if (f.group.empty())
    throw Error(ENODEV, path + " has no IOMMU group: VFIO needs an IOMMU "
                               "(enable it, e.g. intel_iommu=on, or use a vIOMMU in a guest)");
  const std::string driver = link_name(fs::path(path) / "driver");
  if (driver != "vfio-pci")
    throw Error(ENODEV, path + " is " +
                            (driver.empty() ? std::string("not bound to any driver")
                                            : "bound to " + driver) +
                            ", not vfio-pci (write vfio-pci to its driver_override, "
                            "then its address to /sys/bus/pci/drivers_probe)");
  return f;
}

Vfio::~Vfio() {
  for (const Mapping& m : bars_) ::munmap(m.addr, m.len);
  // Closing the device and group releases the DMA mappings and vectors.
  for (int fd : {device_, group_, container_})
    if (fd != -1) ::close(fd);
}

void Vfio::open(const FunctionInfo& f, const std::string& dev_vfio) {
  container_ = open_or_explain(dev_vfio + "/vfio", O_RDWR,
                               " (is the vfio module loaded and /dev/vfio present?)");
  if (::ioctl(container_, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
    throw Error(ENOTSUP, "VFIO: unexpected API version");
  if (::ioctl(container_, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
    throw Error(ENOTSUP, "VFIO: the type-1 v2 IOMMU is not supported (vfio_iommu_type1)");
  group_ = open_or_explain(dev_vfio + "/" + f.group, O_RDWR,
                           " (the IOMMU group's node; is the device bound to vfio-pci?)");
  vfio_group_status status{};
  status.argsz = sizeof status;
  if (::ioctl(group_, VFIO_GROUP_GET_STATUS, &status) == -1) fail_errno("VFIO_GROUP_GET_STATUS");
  if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
    throw Error(EBUSY, "IOMMU group " + f.group +
                           " is not viable: bind every device in it to vfio-pci");
  if (::ioctl(group_, VFIO_GROUP_SET_CONTAINER, &container_) == -1)
    fail_errno("VFIO_GROUP_SET_CONTAINER");
  if (::ioctl(container_, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == -1) fail_errno("VFIO_SET_IOMMU");
  device_ = ::ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, f.address.c_str());
  if (device_ == -1) fail_errno("VFIO_GROUP_GET_DEVICE_FD " + f.address);
  vfio_region_info config{};
  config.argsz = sizeof config;
  config.index = VFIO_PCI_CONFIG_REGION_INDEX;
  if (::ioctl(device_, VFIO_DEVICE_GET_REGION_INFO, &config) == -1)
    fail_errno("VFIO_DEVICE_GET_REGION_INFO (config space)");
  config_offset_ = config.offset;
}

void Vfio::read_config(size_t offset, std::span<uint8_t> out) const {
  if (::pread(device_, out.data(), out.size(), off_t(config_offset_ + offset)) !=
      ssize_t(out.size()))
    fail_errno("reading PCI configuration space");
}

void Vfio::write_config(size_t offset, std::span<const uint8_t> in) const {
  if (::pwrite(device_, in.data(), in.size(), off_t(config_offset_ + offset)) !=
      ssize_t(in.size()))
    fail_errno("writing PCI configuration space");
}

uint8_t* Vfio::map_bar(int bar, uint64_t& size) {
  vfio_region_info info{};
  info.argsz = sizeof info;
  info.index = uint32_t(VFIO_PCI_BAR0_REGION_INDEX + bar);
  if (::ioctl(device_, VFIO_DEVICE_GET_REGION_INFO, &info) == -1)
    fail_errno("VFIO_DEVICE_GET_REGION_INFO (BAR " + std::to_string(bar) + ")");
  if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || info.size == 0)
    throw Error(ENOTSUP, "BAR " + std::to_string(bar) + " cannot be memory-mapped");
  void* p = ::mmap(nullptr, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device_,
                   off_t(info.offset));
  if (p == MAP_FAILED) fail_errno("mmap of BAR " + std::to_string(bar));
  bars_.push_back({p, info.size});
  size = info.size;
  return static_cast<uint8_t*>(p);
}

void Vfio::map_dma(const void* addr, size_t len, uint64_t iova) {
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<uintptr_t>(addr);
  map.iova = iova;
  map.size = len;
  if (::ioctl(container_, VFIO_IOMMU_MAP_DMA, &map) == -1) fail_errno("VFIO_IOMMU_MAP_DMA");
}

void Vfio::unmap_dma(uint64_t iova, size_t len) {
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.iova = iova;
  unmap.size = len;
  if (::ioctl(container_, VFIO_IOMMU_UNMAP_DMA, &unmap) == -1) fail_errno("VFIO_IOMMU_UNMAP_DMA");
}

uint32_t Vfio::msix_vectors() const {
  vfio_irq_info info{};
  info.argsz = sizeof info;
  info.index = VFIO_PCI_MSIX_IRQ_INDEX;
  if (::ioctl(device_, VFIO_DEVICE_GET_IRQ_INFO, &info) == -1) return 0;
  return info.count;
}

void Vfio::enable_msix(std::span<const int> fds) {
  // struct vfio_irq_set is followed by one int32 eventfd per vector.
  std::vector<uint8_t> buf(sizeof(vfio_irq_set) + fds.size_bytes());
  vfio_irq_set set{};
  set.argsz = uint32_t(buf.size());
  set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = VFIO_PCI_MSIX_IRQ_INDEX;
  set.start = 0;
  set.count = uint32_t(fds.size());
  std::memcpy(buf.data(), &set, sizeof set);
  std::memcpy(buf.data() + sizeof set, fds.data(), fds.size_bytes());
  if (::ioctl(device_, VFIO_DEVICE_SET_IRQS, buf.data()) == -1)
    fail_errno("VFIO_DEVICE_SET_IRQS (MSI-X)");
}

}  // namespace blkio::vfio_pci
