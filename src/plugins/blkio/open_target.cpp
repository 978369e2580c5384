#include "open_target.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "properties.hpp"

namespace blkio {

OpenedFile open_path_or_fd(const std::string& path, int32_t fd, int extra_flags,
                           bool& read_only) {
  if (!path.empty() && fd != -1) throw Error(EINVAL, "path and fd cannot be set at the same time");
  if (path.empty() && fd == -1) throw Error(EINVAL, "One of path and fd must be set");
  if (fd != -1) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl == -1) throw Error(errno, "fd " + std::to_string(fd) + ": " + std::strerror(errno));
    read_only = (fl & O_ACCMODE) == O_RDONLY;
    return {fd, fl};
  }
  const int flags = (read_only ? O_RDONLY : O_RDWR) | extra_flags | O_CLOEXEC;
  const int opened = ::open(path.c_str(), flags);
  if (opened == -1) {
    const int err = errno;
    throw Error(err, path + ": " + std::strerror(err));
  }
  return {opened, flags};
}

}  // namespace blkio
