// nbdkit sparse-random [size=]SIZE [seed=SEED] [percent=N] [runlength=N]
// [random-content=true]: a disk shaped like a virtual machine's, runs of
// random data between runs of holes (nbdkit-sparse-random-plugin(1)).
// Writes succeed only when they carry the bytes already there (and zero or
// trim only over holes), so `nbdcopy "$uri" "$uri"` tests a copying tool.
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"
#include "layout.hpp"
#include "random_bytes.hpp"

namespace {

using plugins_common::RandomBytes;
using sparse_random::block_bytes;
using sparse_random::Layout;

// Hash stream choosing the byte that fills a data block.
constexpr uint64_t block_byte_stream = 3;

// What the plugin computes once and every connection shares.
struct Shape {
  RandomBytes random;
  Layout layout;
  bool random_content;

  Shape(uint32_t seed, double percent, uint64_t runlength, bool random_content)
      : random(seed), layout(random, percent, runlength), random_content(random_content) {}
  // layout refers to random: the pair stays where it was built.
  Shape(const Shape&) = delete;
  Shape& operator=(const Shape&) = delete;

  void fill_data(uint8_t* p, uint64_t length, uint64_t offset) const {
    if (random_content) return random.fill(p, length, offset);
    // One random non-zero byte repeated over each block.
    while (length > 0) {
      const uint64_t n = std::min(length, block_bytes - offset % block_bytes);
      const uint64_t byte = 1 + random.hash(block_byte_stream, offset / block_bytes) % 255;
      std::memset(p, int(byte), n);
      p += n;
      offset += n;
      length -= n;
    }
  }

  // The bytes a read returns.
  void fill(void* buf, size_t count, uint64_t offset) const {
    auto* p = static_cast<uint8_t*>(buf);
    layout.walk(offset, count, [&](uint64_t at, uint64_t length, bool data) {
      uint8_t* q = p + (at - offset);
      if (data) fill_data(q, length, at);
      else std::memset(q, 0, length);
      return true;
    });
  }

  bool all_hole(uint64_t offset, uint64_t count) const {
    bool hole = true;
    layout.walk(offset, count, [&](uint64_t, uint64_t, bool data) { return hole = !data; });
    return hole;
  }
};

class SparseRandomDisk final : public plugins_common::ComputedDisk {
 public:
  SparseRandomDisk(uint64_t size, const Shape& shape) : ComputedDisk(size), shape_(shape) {}

  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_extents() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    shape_.fill(buf, count, offset);
    return 0;
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return plugins_common::check_written(buf, count, offset, shape_);
  }
  int flush(uint32_t) override { return 0; }
  int trim(uint32_t count, uint64_t offset, uint32_t) override { return zero_holes(count, offset); }
  int zero(uint32_t count, uint64_t offset, uint32_t) override { return zero_holes(count, offset); }

  int extents(uint32_t count, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    // A bounded number of pieces per call: with 4 KiB runs a large request
    // would otherwise build a huge reply.  The client asks again for the rest.
    constexpr int max_pieces = 4096;
    int pieces = 0, err = 0;
    shape_.layout.walk(offset, count, [&](uint64_t at, uint64_t length, bool data) {
      err = out.add(at, length, data ? nbdkit::extent::data : nbdkit::extent::hole | nbdkit::extent::zero);
      return err == 0 && ++pieces < max_pieces;
    });
    return err;
  }

 private:
  // Zeroing where the disk already reads as zeroes changes nothing.
  int zero_holes(uint32_t count, uint64_t offset) {
    if (shape_.all_hole(offset, count)) return 0;
    nbdkit::error("attempt to trim or zero a data region of the sparse random disk");
    return EIO;
  }

  const Shape& shape_;
};

double parse_percent(std::string_view value) {
  double percent = -1;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, percent);
  if (ec != std::errc() || ptr != end || !(percent >= 0.0 && percent <= 100.0))
    throw nbdkit::Error("cannot parse percent parameter: " + std::string(value));
  return percent;
}

class SparseRandomPlugin final : public plugins_common::SizedPlugin {
 public:
  std::string config_help() const override {
    return std::string(plugins_common::size_help) + '\n' + plugins_common::seed_help + '\n' +
           "percent=<PERCENT>       Percentage of data\n"
           "runlength=<BYTES>       Expected average run length of data\n"
           "random-content=true     Fully random content in each block";
  }

  void config_complete() override { shape_.emplace(seed_, percent_, runlength_, random_content_); }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<SparseRandomDisk>(size_, *shape_);
  }

 protected:
  bool config_other(std::string_view key, std::string_view value) override {
    if (key == "seed") {
      seed_ = plugins_common::parse_seed(value);
    } else if (key == "percent") {
      percent_ = parse_percent(value);
    } else if (key == "runlength") {
      runlength_ = nbdkit::parse_size("runlength", value);
      if (runlength_ == 0) throw nbdkit::Error("runlength parameter must be > 0");
    } else if (key == "random-content") {
      random_content_ = nbdkit::parse_bool("random-content", value);
    } else {
      return false;
    }
    return true;
  }

 private:
  uint32_t seed_ = plugins_common::random_seed();
  double percent_ = 10;
  uint64_t runlength_ = 16 * 1024 * 1024;
  bool random_content_ = false;
  std::optional<Shape> shape_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("sparse-random", SparseRandomPlugin);
