// allocator=sparse: memory is taken only for pages that hold data.
#pragma once

#include <cstdint>

#include "allocator.hpp"
#include "page_directory.hpp"
#include "page_pool.hpp"
#include "page_walk.hpp"

namespace memory {

// Pages are 64 KiB: large enough that a sequential fill costs few
// allocations and lock round trips, and a whole number of the kernel's
// pages so that freeing one really gives the memory back.
//
// Each page is guarded by one of the striped locks: readers share it,
// writers and zeroers take it alone.  A page is freed only under its lock,
// and readers re-read the slot under the lock, so a page is never freed
// while someone copies from it.  Reads of pages never written take no lock
// at all.
class SparseArray final : public Allocator {
 public:
  static constexpr uint32_t page_bytes = 64 * 1024;

  explicit SparseArray(uint64_t size);

  uint32_t page_size() const override { return page_bytes; }
  void read(void* buf, uint64_t count, uint64_t offset) override;
  void write(const void* buf, uint64_t count, uint64_t offset) override;
  void zero(uint64_t count, uint64_t offset) override;
  int extents(uint64_t count, uint64_t offset, bool one_is_enough,
              const ExtentSink& sink) override;

 private:
  void zero_piece(const PagePiece& piece);

  PageDirectory<char> directory_;
  PageLocks locks_;
  PagePool pool_;
};

}  // namespace memory
