// Whole-range pread/pwrite, and the O_DIRECT path behind cache=none.
#pragma once

#include <cstdint>

namespace file_plugin {

// pread/pwrite until `count` bytes are done.  0 or an errno value; reading
// past the end of the file (it shrank under us) is EIO.
int read_all(int fd, void* buf, uint32_t count, uint64_t offset);
int write_all(int fd, const void* buf, uint32_t count, uint64_t offset);

// I/O on a descriptor opened with O_DIRECT.  The kernel wants the file
// offset, the length and the memory address aligned; the server's buffers
// sit behind reply headers and are not, so data goes through a per-thread
// aligned bounce buffer unless the caller's memory happens to be aligned.
class DirectIo {
 public:
  DirectIo(int fd, uint32_t offset_align, uint32_t memory_align)
      : fd_(fd), offset_align_(offset_align), memory_align_(memory_align) {}

  // True when [offset, offset+count) can go through O_DIRECT.
  bool suits(uint32_t count, uint64_t offset) const {
    return ((offset | count) & (offset_align_ - 1)) == 0;
  }
  int pread(void* buf, uint32_t count, uint64_t offset) const;
  int pwrite(const void* buf, uint32_t count, uint64_t offset) const;

 private:
  bool aligned(const void* p) const {
    return (reinterpret_cast<uintptr_t>(p) & (memory_align_ - 1)) == 0;
  }

  int fd_;
  uint32_t offset_align_, memory_align_;
};

}  // namespace file_plugin
