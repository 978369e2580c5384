// nbdkit pattern [size=]SIZE: a read-only disk whose every 8-byte word
// holds its own offset, big-endian (nbdkit-pattern-plugin(1)).
#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"
#include "fill.hpp"

namespace {

class PatternDisk final : public plugins_common::ComputedDisk {
 public:
  using ComputedDisk::ComputedDisk;

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    plugins_common::fill_pattern(buf, count, offset);
    return 0;
  }
};

class PatternPlugin final : public plugins_common::SizedPlugin {
 public:
  std::string config_help() const override { return plugins_common::size_help; }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<PatternDisk>(size_);
  }
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("pattern", PatternPlugin);
