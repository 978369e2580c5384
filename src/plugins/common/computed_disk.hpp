// Building blocks of the plugins whose content is computed rather than
// stored (pattern, ones, full, random, sparse-random, zero): the
// `[size=]SIZE` parameter, a context with their common capabilities, and
// the check that a write carries exactly the bytes a read would return.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <nbdkit/plugin.hpp>

namespace plugins_common {

inline constexpr const char* size_help = "size=<SIZE>  (required) Size of the backing disk";
inline constexpr const char* seed_help = "seed=<SEED>             Random number generator seed";

// A plugin configured by `[size=]SIZE` (default 0, as nbdkit's) and
// whatever keys config_other() accepts.
class SizedPlugin : public nbdkit::Plugin {
 public:
  const char* magic_config_key() const override { return "size"; }
  // Every data call only computes or touches memory.
  bool data_calls_are_nonblocking() const override { return true; }
  void config(std::string_view key, std::string_view value) final;

 protected:
  // Keys other than size; return false for one the plugin does not know.
  virtual bool config_other(std::string_view /*key*/, std::string_view /*value*/) { return false; }

  uint64_t size_ = 0;
  bool size_given_ = false;
};

// nbdkit's seed= is a 32-bit unsigned number.
uint32_t parse_seed(std::string_view value);

// The capabilities shared by every computed disk: it is the same for every
// client (multi-conn) and has nothing to prefetch (cache succeeds at once).
// Read-only unless a subclass says otherwise.
class ComputedDisk : public nbdkit::Context {
 public:
  explicit ComputedDisk(uint64_t size) : size_(size) {}

  uint64_t get_size() override { return size_; }
  bool can_multi_conn() override { return true; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }
  int cache(uint32_t, uint64_t, uint32_t) override { return 0; }

 private:
  uint64_t size_;
};

// For disks that accept a write only when it matches their content (random
// and sparse-random, like nbdkit's, so that `nbdcopy "$uri" "$uri"` tests a
// copy): 0 when `buf` holds what content.fill(buf, count, offset) would
// produce, else EIO after logging why.
template <typename Content>
int check_written(const void* buf, size_t count, uint64_t offset, const Content& content) {
  alignas(64) uint8_t expected[16384];
  const auto* p = static_cast<const uint8_t*>(buf);
  for (size_t done = 0; done < count;) {
    const size_t n = std::min(count - done, sizeof expected);
    content.fill(expected, n, offset + done);
    if (std::memcmp(expected, p + done, n) != 0) {
      nbdkit::error("data written does not match expected");
      return EIO;
    }
    done += n;
  }
  return 0;
}

}  // namespace plugins_common
