// nbdkit null [size=]SIZE: a writable disk that reads as zeroes and
// discards everything written (nbdkit-null-plugin(1)).
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

class NullDisk final : public nbdkit::Context {
 public:
  explicit NullDisk(uint64_t size) : size_(size) {}

  uint64_t get_size() override { return size_; }
  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_fast_zero() override { return true; }
  bool can_extents() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }
  bool can_multi_conn() override { return true; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t, uint32_t) override {
    std::memset(buf, 0, count);
    return 0;
  }
  int pwrite(const void*, uint32_t, uint64_t, uint32_t) override { return 0; }
  int flush(uint32_t) override { return 0; }
  int trim(uint32_t, uint64_t, uint32_t) override { return 0; }
  int zero(uint32_t, uint64_t, uint32_t) override { return 0; }
  int cache(uint32_t, uint64_t, uint32_t) override { return 0; }
  int extents(uint32_t count, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    return out.add(offset, count, nbdkit::extent::hole | nbdkit::extent::zero);
  }

 private:
  uint64_t size_;
};

class NullPlugin final : public nbdkit::Plugin {
 public:
  std::string config_help() const override { return "size=<SIZE>             Size of the backing disk"; }
  bool data_calls_are_nonblocking() const override { return true; }
  const char* magic_config_key() const override { return "size"; }

  void config(std::string_view key, std::string_view value) override {
    if (key != "size") throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
    size_ = nbdkit::parse_size("size", value);
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<NullDisk>(size_);
  }

 private:
  // nbdkit's null plugin defaults to an empty disk when size is not given.
  uint64_t size_ = 0;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("null", NullPlugin);
