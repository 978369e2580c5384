// nbdkit full [size=]SIZE: a disk that reads as zeroes and fails every
// write, trim and zero with ENOSPC, like a thin-provisioned disk whose
// host has run out of space (nbdkit-full-plugin(1)).
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"

namespace {

class FullDisk final : public plugins_common::ComputedDisk {
 public:
  using ComputedDisk::ComputedDisk;

  bool can_write() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_fast_zero() override { return true; }
  bool can_extents() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t, uint32_t) override {
    std::memset(buf, 0, count);
    return 0;
  }
  int pwrite(const void*, uint32_t, uint64_t, uint32_t) override { return ENOSPC; }
  int trim(uint32_t, uint64_t, uint32_t) override { return ENOSPC; }
  // A fast zero is refused as not fast, before the slow path would fail.
  int zero(uint32_t, uint64_t, uint32_t flags) override {
    return (flags & nbdkit::flags::fast_zero) ? ENOTSUP : ENOSPC;
  }
  int extents(uint32_t count, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    return out.add(offset, count, nbdkit::extent::hole | nbdkit::extent::zero);
  }
};

class FullPlugin final : public plugins_common::SizedPlugin {
 public:
  std::string config_help() const override { return plugins_common::size_help; }

  // Unlike pattern and random, nbdkit's full plugin insists on a size.
  void config_complete() override {
    if (!size_given_) throw nbdkit::Error("size parameter is required");
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<FullDisk>(size_);
  }
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("full", FullPlugin);
