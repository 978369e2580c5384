// nbdkit example1: serves a small read-only disk image built into the
// program (a partitioned disk with a FAT filesystem; see disk_image.hpp).
// It takes no parameters.
#include <cstring>
#include <span>

#include <nbdkit/plugin.hpp>

#include "disk_image.hpp"

namespace {

class Example1Disk final : public nbdkit::Context {
 public:
  explicit Example1Disk(std::span<const uint8_t> image) : image_(image) {}

  uint64_t get_size() override { return image_.size(); }
  // Every client sees the same unchanging bytes.
  bool can_multi_conn() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    std::memcpy(buf, image_.data() + offset, count);
    return 0;
  }

 private:
  std::span<const uint8_t> image_;
};

class Example1Plugin final : public nbdkit::Plugin {
 public:
  bool data_calls_are_nonblocking() const override { return true; }

  void load() override { image_ = example1::make_disk_image(); }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<Example1Disk>(image_);
  }

 private:
  std::vector<uint8_t> image_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("example1", Example1Plugin);
