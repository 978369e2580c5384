// allocator=zstd: like sparse, but each page is kept compressed with zstd,
// so a compressible disk takes a fraction of its size in RAM.
#include <zstd.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <stdexcept>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"
#include "page_directory.hpp"
#include "page_walk.hpp"

namespace memory {

namespace {

constexpr uint32_t page_bytes = 64 * 1024;
// Fast compression: the disk is on the request path of every write.
constexpr int compression_level = 1;

struct CompressedPage {
  std::size_t length;
  std::unique_ptr<char[]> bytes;
};

// Per-thread zstd state and scratch space, so that threads working on
// different pages never share anything.
struct Workspace {
  struct ContextDeleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  std::unique_ptr<ZSTD_CCtx, ContextDeleter> compressor{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, ContextDeleter> decompressor{ZSTD_createDCtx()};
  std::vector<char> page = std::vector<char>(page_bytes);
  std::vector<char> compressed = std::vector<char>(ZSTD_compressBound(page_bytes));

  static Workspace& of_this_thread() {
    thread_local Workspace workspace;
    if (!workspace.compressor || !workspace.decompressor) throw std::bad_alloc();
    return workspace;
  }
};

class ZstdAllocator final : public Allocator {
 public:
  explicit ZstdAllocator(uint64_t size)
      : directory_(size / page_bytes + (size % page_bytes != 0)) {}
  ~ZstdAllocator() override {
    directory_.for_each_page([](uint64_t, CompressedPage* page) { delete page; });
  }

  uint32_t page_size() const override { return page_bytes; }

  void read(void* buf, uint64_t count, uint64_t offset) override {
    char* out = static_cast<char*>(buf);
    for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
      char* destination = out + piece.offset_in_request;
      if (directory_.find(piece.page_index)) {
        std::shared_lock lock(locks_.for_page(piece.page_index));
        if (const CompressedPage* page = directory_.find(piece.page_index)) {
          Workspace& workspace = Workspace::of_this_thread();
          decompress(workspace, *page);
          std::memcpy(destination, workspace.page.data() + piece.offset_in_page, piece.length);
          return;
        }
      }
      std::memset(destination, 0, piece.length);
    });
  }

  void write(const void* buf, uint64_t count, uint64_t offset) override {
    const char* in = static_cast<const char*>(buf);
    for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
      update(piece, in + piece.offset_in_request);
    });
  }

  void zero(uint64_t count, uint64_t offset) override {
    for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
      if (directory_.find(piece.page_index)) update(piece, nullptr);
    });
  }

  // Pages that would be all zero are never stored, so a stored page is data.
  int extents(uint64_t count, uint64_t offset, bool one_is_enough,
              const ExtentSink& sink) override {
    namespace extent = nbdkit::extent;
    if (count == 0) return 0;
    const uint64_t end = offset + count;
    uint64_t run_start = offset;
    uint32_t run_type = 0;
    bool in_run = false;
    for_each_page_piece(count, offset, page_bytes, [&](const PagePiece& piece) {
      const uint32_t type = directory_.find(piece.page_index) ? extent::data : extent::hole | extent::zero;
      if (in_run && type != run_type && run_start != end) {
        const uint64_t run_end = offset + piece.offset_in_request;
        if (sink(run_start, run_end - run_start, run_type) != 0 || one_is_enough) {
          run_start = end;  // stop reporting
          return;
        }
        run_start = run_end;
      }
      run_type = type;
      in_run = true;
    });
    return run_start == end ? 0 : sink(run_start, end - run_start, run_type);
  }

 private:
  static void decompress(Workspace& workspace, const CompressedPage& page) {
    const std::size_t length = ZSTD_decompressDCtx(workspace.decompressor.get(),
                                                   workspace.page.data(), page_bytes,
                                                   page.bytes.get(), page.length);
    if (ZSTD_isError(length) || length != page_bytes) {
      throw std::runtime_error("allocator=zstd: a stored page does not decompress");
    }
  }

  // Writes `source` (or zeroes when null) into the piece, replacing the
  // page by its recompressed version, or dropping it when it became zero.
  void update(const PagePiece& piece, const char* source) {
    std::atomic<void*>& slot = directory_.slot(piece.page_index);
    std::unique_lock lock(locks_.for_page(piece.page_index));
    auto* old_page = static_cast<CompressedPage*>(slot.load(std::memory_order_relaxed));
    if (!old_page && !source) return;
    Workspace& workspace = Workspace::of_this_thread();
    char* page = workspace.page.data();
    if (piece.whole_page()) {
      // Nothing of the old page survives.
    } else if (old_page) {
      decompress(workspace, *old_page);
    } else {
      std::memset(page, 0, page_bytes);
    }
    if (source) {
      std::memcpy(page + piece.offset_in_page, source, piece.length);
    } else {
      std::memset(page + piece.offset_in_page, 0, piece.length);
    }

    CompressedPage* new_page = nullptr;
    if (!is_all_zero(page, page_bytes)) {
      const std::size_t length =
          ZSTD_compressCCtx(workspace.compressor.get(), workspace.compressed.data(),
                            workspace.compressed.size(), page, page_bytes, compression_level);
      if (ZSTD_isError(length)) throw std::bad_alloc();
      auto stored = std::make_unique<CompressedPage>(
          CompressedPage{length, std::make_unique_for_overwrite<char[]>(length)});
      std::memcpy(stored->bytes.get(), workspace.compressed.data(), length);
      new_page = stored.release();
    }
    slot.store(new_page, std::memory_order_release);
    lock.unlock();
    delete old_page;
    if (old_page && !new_page) page_freed(piece.page_index * page_bytes, page_bytes);
  }

  PageDirectory<CompressedPage> directory_;
  PageLocks locks_;
};

}  // namespace

std::unique_ptr<Allocator> make_zstd_allocator(uint64_t size) {
  return std::make_unique<ZstdAllocator>(size);
}

}  // namespace memory
