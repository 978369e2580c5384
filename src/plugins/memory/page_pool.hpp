// Fixed-size pages carved from large anonymous mappings.
//
// A page handed out always reads as zeroes without having been written
// (fresh mappings are zero, and released pages are dropped with
// MADV_DONTNEED), so writers copy only what they have and never clear a
// page first.  Releasing a page returns its memory to the operating system
// at once, so the resident size follows what the disk holds; the address
// range is kept for reuse, which also keeps the number of kernel mappings
// small however fragmented the disk becomes.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace memory {

class PagePool {
 public:
  explicit PagePool(std::size_t page_size);
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // A zero-filled page; throws std::bad_alloc.  With `will_fill` (the
  // caller is about to write all of it) the page is faulted in with one
  // system call rather than one fault per 4 KiB, which more than doubles
  // the speed of a first fill.
  void* allocate(bool will_fill);
  void release(void* page);

 private:
  void* take();
  void map_chunk();

  const std::size_t page_size_;
  std::mutex mutex_;
  std::vector<void*> released_;
  struct Chunk {
    void* base;
    std::size_t length;
  };
  std::vector<Chunk> chunks_;
  char* unused_ = nullptr;  // the untouched tail of the newest chunk
  char* chunk_end_ = nullptr;
};

}  // namespace memory
