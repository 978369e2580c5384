// allocator=malloc[,mlock=true]: the whole disk as one mapping made at
// start-up (nbdkit's malloc allocator; we map rather than malloc so that
// zeroing whole pages can give them back).
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"
#include "page_walk.hpp"

namespace memory {

namespace {

class MallocAllocator final : public Allocator {
 public:
  MallocAllocator(uint64_t size, bool locked) : size_(size), locked_(locked) {
    if (size_ == 0) return;
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      throw nbdkit::Error("allocator=malloc: cannot allocate " + std::to_string(size_) +
                              " bytes: " + std::strerror(errno),
                          ENOMEM);
    }
    base_ = static_cast<char*>(base);
    // Fresh memory 2 MiB per fault rather than 4 KiB: more than twice the
    // speed of a first fill.
    madvise(base_, size_, MADV_HUGEPAGE);
    if (locked_) {
      try {
        lock_in_ram();
      } catch (...) {
        munmap(base_, size_);
        throw;
      }
    }
  }
  ~MallocAllocator() override {
    if (base_) munmap(base_, size_);
  }

  void after_fork() override {
    if (locked_ && base_) lock_in_ram();
  }

  uint32_t page_size() const override { return os_page; }

  void read(void* buf, uint64_t count, uint64_t offset) override {
    char* out = static_cast<char*>(buf);
    for_each_page_piece(count, offset, lock_span, [&](const PagePiece& piece) {
      std::shared_lock lock(locks_.for_page(piece.page_index));
      std::memcpy(out + piece.offset_in_request, at(piece), piece.length);
    });
  }

  void write(const void* buf, uint64_t count, uint64_t offset) override {
    const char* in = static_cast<const char*>(buf);
    for_each_page_piece(count, offset, lock_span, [&](const PagePiece& piece) {
      std::unique_lock lock(locks_.for_page(piece.page_index));
      std::memcpy(at(piece), in + piece.offset_in_request, piece.length);
    });
  }

  void zero(uint64_t count, uint64_t offset) override {
    for_each_page_piece(count, offset, lock_span, [&](const PagePiece& piece) {
      std::unique_lock lock(locks_.for_page(piece.page_index));
      // Dropped pages read back as zeroes; locked memory cannot be dropped.
      if (piece.whole_page() && !locked_) {
        madvise(at(piece), piece.length, MADV_DONTNEED);
        page_freed(piece.page_index * lock_span, lock_span);
      } else {
        std::memset(at(piece), 0, piece.length);
      }
    });
  }

  int extents(uint64_t count, uint64_t offset, bool, const ExtentSink& sink) override {
    return sink(offset, count, nbdkit::extent::data);
  }

 private:
  static constexpr uint32_t os_page = 4096;
  // Granularity of the striped locks, and of giving zeroed memory back.
  static constexpr uint32_t lock_span = 64 * 1024;

  void lock_in_ram() {
    if (mlock(base_, size_) == -1) {
      const int err = errno;
      throw nbdkit::Error("allocator=malloc: mlock of " + std::to_string(size_) +
                              " bytes failed: " + std::strerror(err) +
                              " (is the locked-memory limit, ulimit -l, too low?)",
                          err);
    }
  }

  char* at(const PagePiece& piece) const {
    return base_ + piece.page_index * lock_span + piece.offset_in_page;
  }

  uint64_t size_;
  bool locked_;
  char* base_ = nullptr;
  PageLocks locks_;
};

}  // namespace

std::unique_ptr<Allocator> make_malloc_allocator(uint64_t size, bool lock_in_ram) {
  return std::make_unique<MallocAllocator>(size, lock_in_ram);
}

}  // namespace memory
