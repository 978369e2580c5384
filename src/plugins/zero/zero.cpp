// nbdkit zero: a read-only disk of zero bytes, for corner cases of clients
// and of the protocol (nbdkit-zero-plugin(1)).  It takes no parameters.
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "computed_disk.hpp"

namespace {

class EmptyDisk final : public plugins_common::ComputedDisk {
 public:
  EmptyDisk() : ComputedDisk(0) {}

  // The server refuses every range of an empty disk before it gets here.
  int pread(void*, uint32_t, uint64_t, uint32_t) override { return EIO; }
};

class ZeroPlugin final : public nbdkit::Plugin {
 public:
  bool data_calls_are_nonblocking() const override { return true; }

  void config(std::string_view, std::string_view) override {
    throw nbdkit::Error("this plugin does not need command line configuration");
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<EmptyDisk>();
  }
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("zero", ZeroPlugin);
