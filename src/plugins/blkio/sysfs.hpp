// Block queue limits from /sys/dev/block/MAJ:MIN/queue, for drivers that
// open block devices (or files on them).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace blkio {

// The queue directory of the block device `dev` (a partition's is its
// disk's), or "" when sysfs has none (tmpfs, overlay, no sysfs).
std::string sysfs_queue_dir(dev_t dev);

// The first line of DIR/NAME, or nullopt.
std::optional<std::string> read_sysfs(const std::string& dir, const char* name);
// The same as a number; nullopt when absent or not a number.
std::optional<uint64_t> read_sysfs_number(const std::string& dir, const char* name);

}  // namespace blkio
