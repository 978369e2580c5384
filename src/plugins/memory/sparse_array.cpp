#include "sparse_array.hpp"

#include <cstring>
#include <mutex>
#include <shared_mutex>

#include <nbdkit/plugin.hpp>

namespace memory {

namespace {
uint64_t page_count_for(uint64_t size) {
  return size / SparseArray::page_bytes + (size % SparseArray::page_bytes != 0);
}
}  // namespace

std::unique_ptr<Allocator> make_sparse_allocator(uint64_t size) {
  return std::make_unique<SparseArray>(size);
}

SparseArray::SparseArray(uint64_t size) : directory_(page_count_for(size)), pool_(page_bytes) {}

void SparseArray::read(void* buf, uint64_t count, uint64_t offset) {
  char* out = static_cast<char*>(buf);
  for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
    char* destination = out + piece.offset_in_request;
    if (directory_.find(piece.page_index)) {
      std::shared_lock lock(locks_.for_page(piece.page_index));
      // Read again under the lock: the page may have been freed meanwhile.
      if (const char* page = directory_.find(piece.page_index)) {
        std::memcpy(destination, page + piece.offset_in_page, piece.length);
        return;
      }
    }
    std::memset(destination, 0, piece.length);
  });
}

void SparseArray::write(const void* buf, uint64_t count, uint64_t offset) {
  const char* in = static_cast<const char*>(buf);
  for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
    const char* source = in + piece.offset_in_request;
    // A whole page of zeroes (qemu-img and nbdcopy send them for holes they
    // cannot trim) keeps the disk sparse instead of filling it.
    if (piece.whole_page() && is_all_zero(source, piece.length)) {
      zero_piece(piece);
      return;
    }
    std::atomic<void*>& slot = directory_.slot(piece.page_index);
    std::unique_lock lock(locks_.for_page(piece.page_index));
    char* page = static_cast<char*>(slot.load(std::memory_order_relaxed));
    if (!page) {
      page = static_cast<char*>(pool_.allocate(piece.whole_page()));
      std::memcpy(page + piece.offset_in_page, source, piece.length);
      slot.store(page, std::memory_order_release);
    } else {
      std::memcpy(page + piece.offset_in_page, source, piece.length);
    }
  });
}

void SparseArray::zero(uint64_t count, uint64_t offset) {
  const uint64_t first_page = offset / page_bytes;
  const uint64_t end_page = first_page + page_count_for(offset % page_bytes + count);
  uint64_t page_index = directory_.skip_missing(first_page, end_page);
  while (page_index < end_page) {
    // The piece of [offset, offset+count) that lies in this page.
    const uint64_t page_start = page_index * page_bytes;
    const uint64_t start = page_start > offset ? page_start : offset;
    const uint64_t page_end = page_start + page_bytes;
    const uint64_t end = page_end < offset + count ? page_end : offset + count;
    zero_piece(PagePiece{page_index, static_cast<uint32_t>(start - page_start),
                         static_cast<uint32_t>(end - start), start - offset, page_bytes});
    page_index = directory_.skip_missing(page_index + 1, end_page);
  }
}

void SparseArray::zero_piece(const PagePiece& piece) {
  std::atomic<void*>* slot = directory_.existing_slot(piece.page_index);
  if (!slot || !slot->load(std::memory_order_acquire)) return;
  std::unique_lock lock(locks_.for_page(piece.page_index));
  char* page = static_cast<char*>(slot->load(std::memory_order_relaxed));
  if (!page) return;
  if (!piece.whole_page()) {
    std::memset(page + piece.offset_in_page, 0, piece.length);
    if (!is_all_zero(page, page_bytes)) return;
  }
  slot->store(nullptr, std::memory_order_release);
  lock.unlock();
  pool_.release(page);
  page_freed(piece.page_index * page_bytes, page_bytes);
}

int SparseArray::extents(uint64_t count, uint64_t offset, bool one_is_enough,
                         const ExtentSink& sink) {
  namespace extent = nbdkit::extent;
  if (count == 0) return 0;
  const uint64_t end = offset + count;
  const uint64_t first_page = offset / page_bytes;
  const uint64_t end_page = first_page + page_count_for(offset % page_bytes + count);
  // Runs of pages of one type are merged here so that `one_is_enough`
  // can stop at the first change of type.
  uint64_t run_start = offset;
  uint32_t run_type = 0;
  bool in_run = false;
  uint64_t page_index = first_page;
  while (page_index < end_page) {
    uint64_t next = directory_.skip_missing(page_index, end_page);
    uint32_t type = extent::hole | extent::zero;
    if (next == page_index) {
      next = page_index + 1;
      if (directory_.find(page_index)) {
        std::shared_lock lock(locks_.for_page(page_index));
        if (const char* page = directory_.find(page_index)) {
          type = is_all_zero(page, page_bytes) ? extent::zero : extent::data;
        }
      }
    }
    if (in_run && type != run_type) {
      const uint64_t run_end = page_index * page_bytes;
      if (int err = sink(run_start, run_end - run_start, run_type)) return err;
      if (one_is_enough) return 0;
      run_start = run_end;
    }
    run_type = type;
    in_run = true;
    page_index = next;
  }
  return sink(run_start, end - run_start, run_type);
}

}  // namespace memory
