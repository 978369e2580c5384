// Fixed-size pages carved from large anonymous mappings.
//
// A page handed out always reads as zeroes without having been written
// (fresh mappings are zero, and released pages are dropped with
// MADV_DONTNEED), so writers copy only what they have and never clear a
// page first.  Releasing a page returns its memory to the operating system
// (at once, or for part of a huge page when the kernel splits it), so the
// resident size follows what the disk holds; the address
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
  // caller is about to write all of it) the page comes from mappings
  // backed by transparent huge pages where the kernel offers them, and is
  // faulted in with one system call: fresh memory arrives 2 MiB per fault
  // instead of 4 KiB, which is most of the speed of a first fill.  Pages
  // for partial writes come from mappings without huge pages, so a
  // scattered write never takes more than its own page.
  void* allocate(bool will_fill);
  void release(void* page);

 private:
  // A run of mappings that pages are carved from in address order.
  struct Area {
    bool huge_pages;
    char* unused = nullptr;  // the untouched tail of the newest mapping
    char* end = nullptr;
  };
  void* take(Area& area);
  void map_chunk(Area& area);

  const std::size_t page_size_;
  std::mutex mutex_;
  std::vector<void*> released_;
  struct Mapping {
    void* base;
    std::size_t length;
  };
  std::vector<Mapping> mappings_;
  Area filled_{true};
  Area scattered_{false};
};

}  // namespace memory
