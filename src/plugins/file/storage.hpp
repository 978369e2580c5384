// Facts about what backs a file descriptor: its size, whether it is a
// block device, its sector size, whether it lives in memory.  Kept apart from the data path, which only uses the answers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace file_plugin {

struct Storage {
  bool is_block_device = false;
  uint64_t size = 0;
  // The block size the file system or device prefers for I/O.
  uint32_t preferred_block = 4096;
  // A block device's logical sector size: BLKZEROOUT and BLKDISCARD
  // take whole sectors.
  uint32_t sector_size = 512;
  bool rotational = false;
};

// Describes the open descriptor `fd` (regular file or block device);
// throws nbdkit::Error for anything else.  `name` is used in messages.
Storage describe_storage(int fd, const std::string& name);

// True when the file system holding `fd` keeps its data in memory (tmpfs,
// ramfs), so that reading and writing it never waits for a device.
bool is_memory_backed(int fd);

// The exact error text for a path that is neither a regular file nor a
// block device, or "" when `mode` is one of those.
std::string unsupported_file_type(mode_t mode);

}  // namespace file_plugin
