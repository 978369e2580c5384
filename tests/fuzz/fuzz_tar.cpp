// The tar filter's header parser (src/filters/tar/tar_index.cpp): any
// archive must end in a member within the archive or an nbdkit::Error,
// never a read outside the archive, a crash or a hang.  The input is the
// archive; the member looked for is fixed, as are two names the seeds use.
#include <cstdlib>
#include <cstring>

#include "../../src/filters/tar/tar_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nbdkit::filters::ReadAt read = [&](void* buf, size_t count, uint64_t offset) {
    if (offset > size || count > size - offset) abort();  // the parser must check first
    std::memcpy(buf, data + offset, count);
    return 0;
  };
  for (const char* name : {"disk.img", "long/name"}) {
    try {
      const auto m = nbdkit::filters::find_tar_member(read, size, name, 0);
      if (m.offset > size || m.size > size - m.offset) abort();
    } catch (const nbdkit::Error&) {
    }
  }
  return 0;
}
