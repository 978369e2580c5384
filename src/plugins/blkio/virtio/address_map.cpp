#include "address_map.hpp"

#include <algorithm>
#include <mutex>

namespace blkio::virtio {

void AddressMap::add(const MappedRegion& r) {
  std::lock_guard lock(mutex_);
  regions_.push_back(r);
}

bool AddressMap::remove(const void* addr) {
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(regions_.begin(), regions_.end(),
                               [addr](const MappedRegion& r) { return r.addr == addr; });
  if (it == regions_.end()) return false;
  regions_.erase(it);
  return true;
}

std::optional<uint64_t> AddressMap::translate(const void* p, size_t len) const {
  const auto* b = static_cast<const uint8_t*>(p);
  std::shared_lock lock(mutex_);
  // A handful of regions at most (vhost-user allows 8): a linear scan.
  for (const MappedRegion& r : regions_) {
    if (b >= r.addr && len <= r.len && size_t(b - r.addr) <= r.len - len)
      return r.device_addr + uint64_t(b - r.addr);
  }
  return std::nullopt;
}

std::vector<MappedRegion> AddressMap::regions() const {
  std::shared_lock lock(mutex_);
  return regions_;
}

}  // namespace blkio::virtio
