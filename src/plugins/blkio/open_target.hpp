// Opening what a driver with libblkio's `path` and `fd` properties serves
// (io_uring, nvme-io_uring): exactly one of the two must be set.
#pragma once

#include <cstdint>
#include <string>

namespace blkio {

struct OpenedFile {
  int fd = -1;
  int status_flags = 0;  // fcntl(F_GETFL): O_DIRECT, the access mode
};

// `path` opened read-write (read-only when `read_only`) with
// `extra_flags` and O_CLOEXEC, or the given `fd`, whose access mode then
// sets `read_only`.  Throws Error naming the path: "PATH: No such file
// or directory".
OpenedFile open_path_or_fd(const std::string& path, int32_t fd, int extra_flags,
                           bool& read_only);

}  // namespace blkio
