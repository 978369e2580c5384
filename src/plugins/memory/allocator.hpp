// The storage behind the memory plugin.  Every allocator holds one disk of
// a fixed size that starts as all zeroes; calls may run concurrently from
// any number of threads, and each page-sized piece of a request is atomic
// with respect to other requests.  Allocation failure throws std::bad_alloc
// (or nbdkit::Error with a reason); the plugin turns it into ENOMEM.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace memory {

// Receives extents in increasing, contiguous order; a non-zero return
// (an errno value) stops the walk and is passed back to the caller.
using ExtentSink = std::function<int(uint64_t offset, uint64_t length, uint32_t type)>;

// Told about every page given back (offset and length on the disk), for
// `-D memory.dir=1`.
using PageFreedHook = std::function<void(uint64_t offset, uint64_t length)>;

class Allocator {
 public:
  virtual ~Allocator() = default;

  // The granularity at which the allocator takes and frees memory.
  virtual uint32_t page_size() const = 0;

  virtual void read(void* buf, uint64_t count, uint64_t offset) = 0;
  virtual void write(const void* buf, uint64_t count, uint64_t offset) = 0;
  // Makes the range read as zeroes, giving back memory where it can.
  virtual void zero(uint64_t count, uint64_t offset) = 0;
  // Describes [offset, offset+count) with NBD base:allocation types.  With
  // `one_is_enough` the walk may stop after the first extent.
  virtual int extents(uint64_t count, uint64_t offset, bool one_is_enough,
                      const ExtentSink& sink) = 0;

  // Runs in the server process after it has forked away from the parent
  // (memory locks are not inherited).  Throws nbdkit::Error.
  virtual void after_fork() {}

  void set_page_freed_hook(PageFreedHook hook) { page_freed_hook_ = std::move(hook); }

 protected:
  void page_freed(uint64_t offset, uint64_t length) const {
    if (page_freed_hook_) page_freed_hook_(offset, length);
  }

 private:
  PageFreedHook page_freed_hook_;
};

std::unique_ptr<Allocator> make_sparse_allocator(uint64_t size);
// Throws nbdkit::Error when the memory cannot be reserved or locked.
std::unique_ptr<Allocator> make_malloc_allocator(uint64_t size, bool lock_in_ram);
std::unique_ptr<Allocator> make_zstd_allocator(uint64_t size);

// True when all `length` bytes at `data` are zero.
bool is_all_zero(const void* data, uint64_t length);

}  // namespace memory
