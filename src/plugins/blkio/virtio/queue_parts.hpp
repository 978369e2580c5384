// Pieces every virtio-blk transport needs to start a queue: the memory
// for its rings and request slots, the queue's notification plumbing, and
// for transports behind an IOMMU (vfio-pci, vhost-vdpa) the device
// addresses (IOVAs) handed out for our memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "virtio/address_map.hpp"
#include "virtio/blk_queue.hpp"
#include "virtio/split_queue.hpp"

namespace blkio::virtio {

inline size_t align_page(size_t n) { return (n + 4095) / 4096 * 4096; }

// Bytes for one queue of `size` entries: the rings, then the request
// slots, page aligned so queues can be laid out one after another.
size_t queue_area_bytes(uint16_t size);
// Where the request slots start in a queue's area.
inline size_t queue_slots_at(uint16_t size) { return RingLayout::for_size(size).total; }

// A started queue: its ring, its request slots and how the device is
// notified and notifies us.
struct QueueParts {
  QueueParts() = default;
  QueueParts(const QueueParts&) = delete;
  QueueParts& operator=(const QueueParts&) = delete;
  ~QueueParts();  // closes the eventfds
  std::unique_ptr<SplitQueue> ring;
  uint8_t* slots = nullptr;
  int kick_fd = -1, call_fd = -1;
  volatile uint16_t* notify_mmio = nullptr;
  uint16_t notify_value = 0;

  // The SharedRing's view of this queue.
  RingSetup setup(const AddressMap& map, int watch_fd, const char* gone_message) const;
};

// Zeroed anonymous memory (rings of transports that pin our memory rather
// than map a file descriptor).
class AnonymousMemory {
 public:
  AnonymousMemory() = default;
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;
  ~AnonymousMemory();
  // Throws blkio::Error.
  void allocate(size_t len);
  uint8_t* addr() const { return addr_; }
  size_t len() const { return len_; }

 private:
  uint8_t* addr_ = nullptr;
  size_t len_ = 0;
};

// Hands out page-aligned device addresses in [first, last] (inclusive,
// as the kernel reports IOVA ranges), never reusing one: regions are
// mapped a handful of times per device lifetime.
class IovaSpace {
 public:
  IovaSpace(uint64_t first, uint64_t last);
  std::optional<uint64_t> allocate(uint64_t len);

 private:
  uint64_t next_, last_;
  bool full_ = false;
};

// On x86 the range 0xfee00000-0xfeefffff is the MSI window and cannot be
// mapped, and guests' vIOMMUs often have 39-bit address widths: start
// above 4 GiB and stay below 2^39.
inline constexpr uint64_t default_iova_first = uint64_t{1} << 32;
inline constexpr uint64_t default_iova_last = (uint64_t{1} << 39) - 1;

// Our memory as a device behind an IOMMU sees it: each region gets an
// IOVA from an IovaSpace, the transport maps it in the device's IOMMU
// (VFIO_IOMMU_MAP_DMA, a vhost IOTLB update) and the AddressMap records it
// for the requests.
class IommuMappings {
 public:
  using MapFn = std::function<void(const void* addr, size_t len, uint64_t iova)>;
  using UnmapFn = std::function<void(uint64_t iova, size_t len)>;
  // Each throws blkio::Error; `who` prefixes messages.
  IommuMappings(std::string who, MapFn map, UnmapFn unmap);
  void set_range(uint64_t first, uint64_t last) { space_ = IovaSpace(first, last); }
  void map(const void* addr, size_t len);
  void unmap(const void* addr);
  uint64_t device_addr(const void* p) const;
  const AddressMap& address_map() const { return map_; }

 private:
  std::string who_;
  MapFn map_fn_;
  UnmapFn unmap_fn_;
  IovaSpace space_{default_iova_first, default_iova_last};
  AddressMap map_;
};

}  // namespace blkio::virtio
