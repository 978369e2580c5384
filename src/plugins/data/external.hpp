// The bytes of <FILE and <(SCRIPT), handed over in chunks as they are read
// so that a large file goes to the disk without a copy of it in between.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace data {

using ChunkSink = std::function<void(std::string_view chunk)>;

// Reads at most `limit` bytes (a slice needs no more, and /dev/urandom
// never ends).  Throw nbdkit::Error with the reason.
void read_file(const std::string& path, uint64_t limit, const ChunkSink& sink);
// The script runs under /bin/sh; it must exit 0, unless it was stopped
// early because `limit` bytes were enough.
void run_script(const std::string& script, uint64_t limit, const ChunkSink& sink);

}  // namespace data
