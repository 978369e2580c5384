#include "page_pool.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace memory {

namespace {
// Address space reserved per mapping.  Only pages actually written take
// memory, so this costs nothing but a kernel mapping each.
constexpr std::size_t chunk_length = std::size_t{256} << 20;
// Transparent huge pages are this size on x86-64 and most arm64 kernels;
// aligning to it lets every 2 MiB of a filled mapping be one huge page.
constexpr std::size_t huge_page_length = std::size_t{2} << 20;
}  // namespace

PagePool::PagePool(std::size_t page_size) : page_size_(page_size) {}

PagePool::~PagePool() {
  for (const Mapping& mapping : mappings_) munmap(mapping.base, mapping.length);
}

void PagePool::map_chunk(Area& area) {
  const std::size_t length = chunk_length + huge_page_length;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  mappings_.push_back({base, length});
  const auto address = reinterpret_cast<std::uintptr_t>(base);
  char* aligned = reinterpret_cast<char*>((address + huge_page_length - 1) & ~(huge_page_length - 1));
  // Without huge pages, a single dropped page is given back at once; a
  // partly dropped huge page is only split (and the rest of it given
  // back) when the kernel gets round to it.
  madvise(aligned, chunk_length, area.huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  area.unused = aligned;
  area.end = aligned + chunk_length;
}

void* PagePool::allocate(bool will_fill) {
  void* page = take(will_fill ? filled_ : scattered_);
  // Best effort: kernels before 5.14 lack it, and the page faults in anyway.
  if (will_fill) madvise(page, page_size_, MADV_POPULATE_WRITE);
  return page;
}

void* PagePool::take(Area& area) {
  std::lock_guard lock(mutex_);
  if (!released_.empty()) {
    void* page = released_.back();
    released_.pop_back();
    return page;
  }
  if (area.unused == area.end) {
    mappings_.reserve(mappings_.size() + 1);
    map_chunk(area);
  }
  void* page = area.unused;
  area.unused += page_size_;
  return page;
}

void PagePool::release(void* page) {
  // Outside the lock: this is the slow part, and the page is not yet
  // visible to allocate().
  madvise(page, page_size_, MADV_DONTNEED);
  std::lock_guard lock(mutex_);
  released_.push_back(page);
}

}  // namespace memory
