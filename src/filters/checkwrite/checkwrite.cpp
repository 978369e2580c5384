// nbdkit --filter=checkwrite: turns writes into checks that the data
// written matches what the layer below (opened read-only) already holds;
// a mismatch fails with EIO (nbdkit-checkwrite-filter(1)).  Trims and
// zeroes check for zeroes.
#include <algorithm>
#include <cstring>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

class CheckwriteContext final : public nbdkit::FilterContext {
 public:
  using FilterContext::FilterContext;

  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  bool can_fast_zero() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }
  bool can_multi_conn() override { return true; }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    std::vector<char> existing(count);
    if (const int err = next().pread(existing.data(), count, offset, 0)) return err;
    if (std::memcmp(existing.data(), buf, count) == 0) return 0;
    return mismatch("pwrite", count, offset);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t) override { return expect_zeroes("zero", count, offset); }
  int trim(uint32_t count, uint64_t offset, uint32_t) override { return expect_zeroes("trim", count, offset); }
  int flush(uint32_t) override { return 0; }

 private:
  static int mismatch(const char* what, uint32_t count, uint64_t offset) {
    nbdkit::error("checkwrite: %s (offset %llu, count %u): data differs from the plugin", what,
                  static_cast<unsigned long long>(offset), count);
    return EIO;
  }

  // Holes and zero extents need no reading, when the layer below says so.
  int expect_zeroes(const char* what, uint32_t count, uint64_t offset) {
    uint64_t pos = offset;
    const uint64_t end = offset + count;
    if (next().can_extents()) {
      nbdkit::ExtentList list(offset, end);
      if (next().extents(count, offset, 0, list) == 0) {
        for (const auto& e : list.extents()) {
          if (!(e.type & nbdkit::extent::zero)) break;
          pos = e.offset + e.length;
        }
      }
    }
    std::vector<char> data(std::min<uint64_t>(end - pos, 4 * 1024 * 1024));
    while (pos < end) {
      const auto n = static_cast<uint32_t>(std::min<uint64_t>(data.size(), end - pos));
      if (const int err = next().pread(data.data(), n, pos, 0)) return err;
      if (std::any_of(data.begin(), data.begin() + n, [](char c) { return c != 0; }))
        return mismatch(what, count, offset);
      pos += n;
    }
    return 0;
  }
};

class CheckwriteFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool,
                                        std::string_view exportname, bool) override {
    // The layer below is never written.
    return std::make_unique<CheckwriteContext>(next(true, exportname));
  }
};

}  // namespace

NBDKIT_REGISTER_FILTER("checkwrite", CheckwriteFilter);
