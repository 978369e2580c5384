#include "virtio/queue_parts.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "properties.hpp"
#include "virtio/blk_engine.hpp"

namespace blkio::virtio {

size_t queue_area_bytes(uint16_t size) {
  return RingLayout::for_size(size).total + align_page(size_t{size} * BlkEngine::slot_bytes);
}

QueueParts::~QueueParts() {
  if (kick_fd != -1) ::close(kick_fd);
  if (call_fd != -1) ::close(call_fd);
}

RingSetup QueueParts::setup(const AddressMap& map, int watch_fd,
                            const char* gone_message) const {
  return RingSetup{ring.get(), &map,        slots,       kick_fd,     call_fd,
                   watch_fd,   gone_message, notify_mmio, notify_value};
}

AnonymousMemory::~AnonymousMemory() {
  if (addr_) ::munmap(addr_, len_);
}

void AnonymousMemory::allocate(size_t len) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    throw Error(err, std::string("allocating queue memory: ") + std::strerror(err));
  }
  addr_ = static_cast<uint8_t*>(p);
  len_ = len;
}

IovaSpace::IovaSpace(uint64_t first, uint64_t last)
    : next_(align_page(first)), last_(last) {}

std::optional<uint64_t> IovaSpace::allocate(uint64_t len) {
  const uint64_t size = align_page(len);
  if (full_ || size == 0 || next_ > last_ || size - 1 > last_ - next_) return std::nullopt;
  const uint64_t iova = next_;
  full_ = size - 1 == last_ - next_;  // next_ would wrap past the top of the space
  next_ += size;
  return iova;
}

IommuMappings::IommuMappings(std::string who, MapFn map, UnmapFn unmap)
    : who_(std::move(who)), map_fn_(std::move(map)), unmap_fn_(std::move(unmap)) {}

void IommuMappings::map(const void* addr, size_t len) {
  const auto iova = space_.allocate(len);
  if (!iova) throw Error(ENOSPC, who_ + ": out of IOVA space");
  map_fn_(addr, len, *iova);
  map_.add({static_cast<const uint8_t*>(addr), len, *iova});
}

void IommuMappings::unmap(const void* addr) {
  for (const MappedRegion& r : map_.regions()) {
    if (r.addr != addr) continue;
    map_.remove(addr);
    unmap_fn_(r.device_addr, r.len);
    return;
  }
  throw Error(EINVAL, "no such memory region");
}

uint64_t IommuMappings::device_addr(const void* p) const {
  const auto a = map_.translate(p, 1);
  if (!a) throw Error(EFAULT, who_ + ": queue memory is not mapped for the device");
  return *a;
}

}  // namespace blkio::virtio
