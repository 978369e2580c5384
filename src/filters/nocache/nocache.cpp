// nbdkit --filter=nocache: hides or cripples NBD_CMD_CACHE
// (nbdkit-nocache-filter(1)): cachemode=none (default) does not advertise
// it, emulate makes the server read the range instead of asking the
// layers below, nop accepts and ignores every cache request.
#include "../common/choice.hpp"

namespace {

using nbdkit::CacheSupport;

enum class CacheMode { none, emulate, nop };

class NoCacheContext final : public nbdkit::FilterContext {
 public:
  NoCacheContext(std::unique_ptr<nbdkit::Context> next, CacheMode mode)
      : FilterContext(std::move(next)), mode_(mode) {}

  CacheSupport can_cache() override {
    switch (mode_) {
      case CacheMode::none: return CacheSupport::none;
      case CacheMode::emulate: return CacheSupport::emulate;  // the server reads
      case CacheMode::nop: break;
    }
    return CacheSupport::native;
  }
  // Reached only in nop mode.
  int cache(uint32_t, uint64_t, uint32_t) override { return 0; }

 private:
  CacheMode mode_;
};

class NoCacheFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "cachemode=MODE          One of 'none' (default), 'emulate', 'nop'.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "cachemode") return false;
    mode_ = nbdkit::filters::parse_choice<CacheMode>(
        key, value,
        {{"none", CacheMode::none}, {"emulate", CacheMode::emulate}, {"nop", CacheMode::nop}});
    return true;
  }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<NoCacheContext>(next(readonly, exportname), mode_);
  }

 private:
  CacheMode mode_ = CacheMode::none;
};

}  // namespace

NBDKIT_REGISTER_FILTER("nocache", NoCacheFilter);
