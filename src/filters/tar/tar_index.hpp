// Locating a member of an uncompressed tar archive by reading its
// headers: ustar, old GNU, GNU long names (type L) and pax extended
// headers (path, size).  Kept apart from the filter so that a fuzz target
// can feed it any bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "../common/range_context.hpp"

namespace nbdkit::filters {

struct TarMember {
  uint64_t offset;  // of the member's data within the archive
  uint64_t size;
};

// The first member named `name` of the archive of `archive_size` bytes
// read through `read`, looking no further than `limit` bytes into it (0:
// no limit).  Throws nbdkit::Error when it is missing, is not a regular
// file (sparse members included), or the archive is damaged.
TarMember find_tar_member(const ReadAt& read, uint64_t archive_size, std::string_view name,
                          uint64_t limit);

}  // namespace nbdkit::filters
