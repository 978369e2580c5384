// Splitting requests into page-sized pieces, and the striped locks that
// make each piece atomic.
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>

namespace memory {

struct PagePiece {
  uint64_t page_index;
  uint32_t offset_in_page;
  uint32_t length;
  uint64_t offset_in_request;
  uint32_t page_size;
  bool whole_page() const { return length == page_size; }
};

// Calls fn(PagePiece) for every page [offset, offset+count) touches, in
// order.  `page_size` must be a power of two.
template <typename Fn>
void for_each_page_piece(uint64_t count, uint64_t offset, uint32_t page_size, Fn&& fn) {
  uint64_t done = 0;
  while (done < count) {
    const uint64_t position = offset + done;
    const uint32_t in_page = static_cast<uint32_t>(position & (page_size - 1));
    const uint64_t left = count - done;
    const uint32_t length =
        left < page_size - in_page ? static_cast<uint32_t>(left) : page_size - in_page;
    fn(PagePiece{position / page_size, in_page, length, done, page_size});
    done += length;
  }
}

// A fixed table of reader/writer locks; page i uses lock i mod N, so
// neighbouring pages (a sequential stream, or parallel clients working on
// nearby ranges) never share a lock.
class PageLocks {
 public:
  std::shared_mutex& for_page(uint64_t page_index) {
    return stripes_[page_index % stripe_count].mutex;
  }

 private:
  static constexpr std::size_t stripe_count = 1024;
  // One lock per cache line so that unrelated pages do not contend.
  struct alignas(64) Stripe {
    std::shared_mutex mutex;
  };
  std::array<Stripe, stripe_count> stripes_;
};

}  // namespace memory
