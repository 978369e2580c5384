// Which of our memory the device can reach and at what device address
// (vhost-user: the address we declared as guest address; vfio: the IOVA).
// Buffers handed to a virtio device must lie inside one region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <optional>
#include <vector>

namespace blkio::virtio {

struct MappedRegion {
  const uint8_t* addr;
  size_t len;
  uint64_t device_addr;
};

class AddressMap {
 public:
  void add(const MappedRegion& r);
  // Removes the region starting at `addr`; false if there is none.
  bool remove(const void* addr);
  // The device address of [p, p+len), or nothing when the range is not
  // inside one region.
  std::optional<uint64_t> translate(const void* p, size_t len) const;
  std::vector<MappedRegion> regions() const;

 private:
  mutable std::shared_mutex mutex_;  // written rarely (map/unmap), read per request
  std::vector<MappedRegion> regions_;
};

}  // namespace blkio::virtio
