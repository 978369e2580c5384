// nbdkit random [size=]SIZE [seed=SEED]: a disk of pseudo-random bytes,
// the same for the same seed (nbdkit-random-plugin(1)).  Writes succeed
// only when they carry the bytes already there, so a copy from the disk to
// itself checks a copying tool; trim and zero always fail (EIO).
#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"
#include "random_bytes.hpp"

namespace {

using plugins_common::RandomBytes;

class RandomDisk final : public plugins_common::ComputedDisk {
 public:
  RandomDisk(uint64_t size, const RandomBytes& bytes) : ComputedDisk(size), bytes_(bytes) {}

  bool can_write() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    bytes_.fill(buf, count, offset);
    return 0;
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return plugins_common::check_written(buf, count, offset, bytes_);
  }
  int trim(uint32_t, uint64_t, uint32_t) override { return refuse_zeroes(); }
  int zero(uint32_t, uint64_t, uint32_t) override { return refuse_zeroes(); }

 private:
  static int refuse_zeroes() {
    nbdkit::error("attempt to trim or zero non-sparse random disk");
    return EIO;
  }

  const RandomBytes& bytes_;
};

class RandomPlugin final : public plugins_common::SizedPlugin {
 public:
  std::string config_help() const override {
    return std::string(plugins_common::size_help) + '\n' + plugins_common::seed_help;
  }

  void config_complete() override { bytes_.emplace(seed_); }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<RandomDisk>(size_, *bytes_);
  }

 protected:
  bool config_other(std::string_view key, std::string_view value) override {
    if (key != "seed") return false;
    seed_ = plugins_common::parse_seed(value);
    return true;
  }

 private:
  uint32_t seed_ = plugins_common::random_seed();
  std::optional<RandomBytes> bytes_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("random", RandomPlugin);
