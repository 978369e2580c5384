// Finding a partition in an MBR (with extended partitions) or GPT
// partition table.  Kept apart from the filter so that a fuzz target can
// feed it any bytes.
#pragma once

#include <cstdint>

#include "../common/range_context.hpp"

namespace nbdkit::filters {

struct PartitionRange {
  uint64_t start;
  uint64_t length;
};

// Partition `number` (counting from 1; 5 and up are MBR logical
// partitions) of a disk of `disk_size` bytes read through `read`, with
// the table's sectors of `sector_size` bytes.  Throws nbdkit::Error when
// there is no table, no such partition, or it lies outside the disk.
PartitionRange find_partition(const ReadAt& read, uint64_t disk_size, unsigned number,
                              uint32_t sector_size);

}  // namespace nbdkit::filters
