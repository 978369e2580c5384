#pragma once

#include <cstdint>
#include <string>

#include "allocator.hpp"

namespace memory {

// Copies the raw image at `path` to the start of the disk, storing only
// its non-zero blocks: holes are skipped with SEEK_DATA/SEEK_HOLE and
// all-zero blocks are not written.  Throws nbdkit::Error when the file
// cannot be read or is larger than `disk_size`.
void preload_image(Allocator& disk, uint64_t disk_size, const std::string& path);

}  // namespace memory
