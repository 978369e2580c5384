#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "allocator.hpp"

namespace memory {

// Copies the raw image at `path` to the start of the disk, storing only
// its non-zero blocks: holes are skipped with SEEK_DATA/SEEK_HOLE and
// all-zero blocks are not written.  Throws nbdkit::Error when the file
// cannot be read or is larger than `disk_size`.  `progress`, if given, is
// told after each piece how many bytes of the image (data and holes) are
// in place.
struct PreloadResult {
  uint64_t image_bytes;  // the image's size
  uint64_t data_bytes;   // what was stored: its non-zero blocks
};
using PreloadProgress = std::function<void(uint64_t done, uint64_t total)>;
PreloadResult preload_image(Allocator& disk, uint64_t disk_size, const std::string& path,
                            const PreloadProgress& progress = {});

}  // namespace memory
