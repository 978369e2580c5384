// The partition filter's table parser (src/filters/partition/
// partition_table.cpp): any disk must give a partition within the disk or
// an nbdkit::Error, never a read outside it, a crash or a hang.  The input
// is the disk; its last byte picks the partition number (1 to 16) and the
// sector size.
#include <cstdlib>
#include <cstring>

#include "../../src/filters/partition/partition_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned number = data[size - 1] % 16 + 1;
  const uint32_t sector_size = (data[size - 1] & 0x80) ? 4096 : 512;
  const nbdkit::filters::ReadAt read = [&](void* buf, size_t count, uint64_t offset) {
    if (offset > size || count > size - offset) abort();  // the parser must check first
    std::memcpy(buf, data + offset, count);
    return 0;
  };
  try {
    const auto p = nbdkit::filters::find_partition(read, size, number, sector_size);
    if (p.start > size || p.length > size - p.start) abort();
  } catch (const nbdkit::Error&) {
  }
  return 0;
}
