// nbdkit --filter=count: counts the bytes read, written, zeroed and
// trimmed, and prints the totals as a debug message (-v) when the filter
// is unloaded, usually when the server exits (nbdkit-count-filter(1)).
// Only requests that succeed count.  For per-operation statistics see
// the stats and log filters.
#include <atomic>
#include <cinttypes>

#include <nbdkit/plugin.hpp>

namespace {

struct Totals {
  std::atomic<uint64_t> read{0}, written{0}, zeroed{0}, trimmed{0};
};

// Adds `count` to `total` when the request succeeded; returns its result.
int counted(std::atomic<uint64_t>& total, uint32_t count, int result) {
  if (result == 0) total.fetch_add(count, std::memory_order_relaxed);
  return result;
}

class CountContext final : public nbdkit::FilterContext {
 public:
  CountContext(std::unique_ptr<nbdkit::Context> next, Totals& totals)
      : FilterContext(std::move(next)), totals_(totals) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return counted(totals_.read, count, next().pread(buf, count, offset, flags));
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return counted(totals_.written, count, next().pwrite(buf, count, offset, flags));
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return counted(totals_.zeroed, count, next().zero(count, offset, flags));
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return counted(totals_.trimmed, count, next().trim(count, offset, flags));
  }

 private:
  Totals& totals_;
};

class CountFilter final : public nbdkit::Filter {
 public:
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<CountContext>(next(readonly, exportname), totals_);
  }

  void unload() override {
    nbdkit::debug("count bytes: read %" PRIu64 ", written %" PRIu64 ", zeroed %" PRIu64
                  ", trimmed %" PRIu64,
                  totals_.read.load(), totals_.written.load(), totals_.zeroed.load(),
                  totals_.trimmed.load());
  }

 private:
  Totals totals_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("count", CountFilter);
