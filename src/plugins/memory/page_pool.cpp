#include "page_pool.hpp"

#include <sys/mman.h>

#include <new>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace memory {

namespace {
// Address space reserved per mapping.  Only pages actually written take
// memory, so this costs nothing but a kernel mapping each.
constexpr std::size_t chunk_length = std::size_t{256} << 20;
}  // namespace

PagePool::PagePool(std::size_t page_size) : page_size_(page_size) {}

PagePool::~PagePool() {
  for (const Chunk& chunk : chunks_) munmap(chunk.base, chunk.length);
}

void PagePool::map_chunk() {
  void* base = mmap(nullptr, chunk_length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  // Transparent huge pages would defeat giving back single pages: a
  // partly dropped huge page may stay resident until the kernel splits it.
  madvise(base, chunk_length, MADV_NOHUGEPAGE);
  chunks_.push_back({base, chunk_length});
  unused_ = static_cast<char*>(base);
  chunk_end_ = unused_ + chunk_length;
}

void* PagePool::allocate(bool will_fill) {
  void* page = take();
  // Best effort: kernels before 5.14 lack it, and the page faults in anyway.
  if (will_fill) madvise(page, page_size_, MADV_POPULATE_WRITE);
  return page;
}

void* PagePool::take() {
  std::lock_guard lock(mutex_);
  if (!released_.empty()) {
    void* page = released_.back();
    released_.pop_back();
    return page;
  }
  if (unused_ == chunk_end_) {
    chunks_.reserve(chunks_.size() + 1);
    map_chunk();
  }
  void* page = unused_;
  unused_ += page_size_;
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
