#include "vfio_pci/device.hpp"

#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "properties.hpp"

namespace blkio::vfio_pci {

namespace {

template <typename T>
T mmio_read(const uint8_t* base, size_t offset) {
  return *reinterpret_cast<const volatile T*>(base + offset);
}

template <typename T>
void mmio_write(uint8_t* base, size_t offset, T value) {
  *reinterpret_cast<volatile T*>(base + offset) = value;
}

// 64-bit registers are written as two 32-bit halves, low first
// (VIRTIO 1.2 §4.1.3.1).
void mmio_write64(uint8_t* base, size_t offset, uint64_t value) {
  mmio_write<uint32_t>(base, offset, uint32_t(value));
  mmio_write<uint32_t>(base, offset + 4, uint32_t(value >> 32));
}

}  // namespace

PciDevice::~PciDevice() {
  if (!common_) return;
  // Stop the device before the rings and the DMA mappings go away.
  mmio_write<uint8_t>(common_, common::device_status, 0);
  for (int i = 0; i < 1000 && mmio_read<uint8_t>(common_, common::device_status) != 0; ++i) {
  }
}

void PciDevice::enable_bus_master() {
  uint8_t raw[2];
  vfio_.read_config(pci::command, raw);
  uint16_t command;
  std::memcpy(&command, raw, 2);
  command |= pci::command_memory | pci::command_bus_master;
  std::memcpy(raw, &command, 2);
  vfio_.write_config(pci::command, raw);
}

uint8_t* PciDevice::map_structure(const StructureLocation& s, const char* what) {
  if (!bars_[s.bar]) bars_[s.bar] = vfio_.map_bar(s.bar, bar_sizes_[s.bar]);
  if (!fits_in_bar(s, bar_sizes_[s.bar]))
    throw Error(EIO, who_ + ": the " + what + " structure lies outside BAR " +
                         std::to_string(s.bar));
  return bars_[s.bar] + s.offset;
}

void PciDevice::connect(const std::string& path) {
  vfio_.open(inspect_function(path));
  std::vector<uint8_t> config(pci::config_space_size);
  vfio_.read_config(0, config);
  std::string why;
  caps_ = parse_virtio_caps(config, why);
  if (!why.empty()) throw Error(ENOTSUP, who_ + ": " + path + ": " + why);
  enable_bus_master();
  common_ = map_structure(*caps_.common, "common configuration");
  notify_ = map_structure(*caps_.notify, "notify");
  device_cfg_ = map_structure(*caps_.device, "device configuration");
  if (caps_.common->length < common::size)
    throw Error(EIO, who_ + ": the common configuration structure is too short");
  negotiate_and_configure();
}

uint8_t PciDevice::get_status() { return mmio_read<uint8_t>(common_, common::device_status); }

void PciDevice::set_status(uint8_t status) {
  mmio_write<uint8_t>(common_, common::device_status, status);
}

uint64_t PciDevice::device_features() {
  uint64_t features = 0;
  for (uint32_t half = 0; half < 2; ++half) {
    mmio_write<uint32_t>(common_, common::device_feature_select, half);
    features |= uint64_t{mmio_read<uint32_t>(common_, common::device_feature)} << (32 * half);
  }
  return features;
}

void PciDevice::set_driver_features(uint64_t features) {
  for (uint32_t half = 0; half < 2; ++half) {
    mmio_write<uint32_t>(common_, common::driver_feature_select, half);
    mmio_write<uint32_t>(common_, common::driver_feature, uint32_t(features >> (32 * half)));
  }
}

void PciDevice::read_config(std::span<uint8_t> out) {
  std::fill(out.begin(), out.end(), 0);
  const size_t n = std::min<size_t>(out.size(), caps_.device->length);
  // A configuration change while we read shows as a new generation: retry.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint8_t before = mmio_read<uint8_t>(common_, common::config_generation);
    for (size_t i = 0; i < n; ++i) out[i] = mmio_read<uint8_t>(device_cfg_, i);
    if (mmio_read<uint8_t>(common_, common::config_generation) == before) return;
  }
  throw Error(EIO, who_ + ": the device configuration keeps changing");
}

// The queue size all queues use: ours, or less if a queue is smaller.
uint16_t PciDevice::common_queue_size(int num_queues, uint16_t wanted) {
  uint16_t size = wanted;
  for (int i = 0; i < num_queues; ++i) {
    mmio_write<uint16_t>(common_, common::queue_select, uint16_t(i));
    const uint16_t max = mmio_read<uint16_t>(common_, common::queue_size);
    if (max == 0) throw Error(EIO, who_ + ": queue " + std::to_string(i) + " is not available");
    size = std::min(size, max);
  }
  return virtio::floor_power_of_two(size);
}

void PciDevice::setup_queue(uint16_t index, uint16_t size) {
  virtio::QueueParts& q = add_queue(index, size);
  q.call_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (q.call_fd == -1) throw Error(errno, std::string("eventfd: ") + std::strerror(errno));
  mmio_write<uint16_t>(common_, common::queue_select, index);
  mmio_write<uint16_t>(common_, common::queue_size, size);
  mmio_write64(common_, common::queue_desc, memory_.device_addr(q.ring->desc_area()));
  mmio_write64(common_, common::queue_driver, memory_.device_addr(q.ring->avail_area()));
  mmio_write64(common_, common::queue_device, memory_.device_addr(q.ring->used_area()));
  const auto at = notify_offset(*caps_.notify, caps_.notify_off_multiplier,
                                mmio_read<uint16_t>(common_, common::queue_notify_off));
  if (!at) throw Error(EIO, who_ + ": a queue's notify register lies outside the notify structure");
  q.notify_mmio = reinterpret_cast<volatile uint16_t*>(notify_ - caps_.notify->offset + *at);
  q.notify_value = index;
}

void PciDevice::start(int num_queues, uint16_t queue_size) {
  const int available = std::min<int>(num_queues, mmio_read<uint16_t>(common_, common::num_queues));
  const int vectors = int(std::min<uint32_t>(uint32_t(available), vfio_.msix_vectors()));
  if (vectors < 1) throw Error(ENOTSUP, who_ + ": the device has no queues with MSI-X vectors");
  const uint16_t size = common_queue_size(vectors, queue_size);
  allocate_rings(vectors, size);
  std::vector<int> fds;
  for (int i = 0; i < vectors; ++i) {
    setup_queue(uint16_t(i), size);
    fds.push_back(queue(i).call_fd);
  }
  vfio_.enable_msix(fds);
  mmio_write<uint16_t>(common_, common::msix_config, no_vector);
  for (int i = 0; i < vectors; ++i) {
    mmio_write<uint16_t>(common_, common::queue_select, uint16_t(i));
    mmio_write<uint16_t>(common_, common::queue_msix_vector, uint16_t(i));
    if (mmio_read<uint16_t>(common_, common::queue_msix_vector) != i)
      throw Error(EIO, who_ + ": the device refused MSI-X vector " + std::to_string(i));
    mmio_write<uint16_t>(common_, common::queue_enable, 1);
  }
  virtio::set_driver_ok(*this, who_);
}

}  // namespace blkio::vfio_pci
