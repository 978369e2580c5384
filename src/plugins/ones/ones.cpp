// nbdkit ones [[size=]SIZE] [byte=N]: a disk that reads as 0xff (or byte N)
// everywhere and discards what is written (nbdkit-ones-plugin(1)).
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"

namespace {

class OnesDisk final : public plugins_common::ComputedDisk {
 public:
  OnesDisk(uint64_t size, uint8_t byte) : ComputedDisk(size), byte_(byte) {}

  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_fast_zero() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t, uint32_t) override {
    std::memset(buf, byte_, count);
    return 0;
  }
  // Writes of every kind are thrown away: the disk never changes.
  int pwrite(const void*, uint32_t, uint64_t, uint32_t) override { return 0; }
  int flush(uint32_t) override { return 0; }
  int trim(uint32_t, uint64_t, uint32_t) override { return 0; }
  int zero(uint32_t, uint64_t, uint32_t) override { return 0; }

 private:
  uint8_t byte_;
};

class OnesPlugin final : public plugins_common::SizedPlugin {
 public:
  std::string config_help() const override {
    return "size=<SIZE>             Size of the backing disk\n"
           "byte=<N>                Repeated byte (default 0xff)";
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<OnesDisk>(size_, byte_);
  }

 protected:
  bool config_other(std::string_view key, std::string_view value) override {
    if (key != "byte") return false;
    byte_ = nbdkit::parse_uint8("byte", value);
    return true;
  }

 private:
  uint8_t byte_ = 0xff;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("ones", OnesPlugin);
