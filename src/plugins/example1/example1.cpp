// nbdkit example1: the read-only 100 MiB disk that nbdkit's minimal example
// plugin serves, a partition table with one empty partition
// (nbdkit-example1-plugin(1); see disk_image.hpp).  It takes no parameters.
#include <algorithm>
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "disk_image.hpp"

namespace {

using example1::sector_size;

class Example1Disk final : public nbdkit::Context {
 public:
  explicit Example1Disk(const std::array<uint8_t, sector_size>& mbr) : mbr_(mbr) {}

  uint64_t get_size() override { return example1::disk_size; }

  // Only the first sector holds anything: the rest is zeroes, so the 100
  // MiB cost no memory.
  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    std::memset(buf, 0, count);
    if (offset < sector_size) {
      const size_t n = std::min<uint64_t>(count, sector_size - offset);
      std::memcpy(buf, mbr_.data() + offset, n);
    }
    return 0;
  }

 private:
  const std::array<uint8_t, sector_size>& mbr_;
};

class Example1Plugin final : public nbdkit::Plugin {
 public:
  bool data_calls_are_nonblocking() const override { return true; }

  void load() override { mbr_ = example1::make_mbr(); }

  void config(std::string_view, std::string_view) override {
    throw nbdkit::Error("this plugin does not need command line configuration");
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<Example1Disk>(mbr_);
  }

 private:
  std::array<uint8_t, sector_size> mbr_{};
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("example1", Example1Plugin);
