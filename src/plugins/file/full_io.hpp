// Whole-range pread/pwrite.
#pragma once

#include <cstdint>

namespace file_plugin {

// pread/pwrite until `count` bytes are done.  0 or an errno value; reading
// past the end of the file (it shrank under us) is EIO.
int read_all(int fd, void* buf, uint32_t count, uint64_t offset);
int write_all(int fd, const void* buf, uint32_t count, uint64_t offset);

}  // namespace file_plugin
