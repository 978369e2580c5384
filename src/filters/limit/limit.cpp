// nbdkit --filter=limit: refuses clients beyond `limit=N` connected at
// once (default 1, 0 for no limit) (nbdkit-limit-filter(1)).
#include <mutex>
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

class LimitFilter;

// Lives as long as one client's open export.
class CountedContext final : public nbdkit::FilterContext {
 public:
  CountedContext(std::unique_ptr<nbdkit::Context> next, LimitFilter& filter);
  ~CountedContext() override;

 private:
  LimitFilter& filter_;
};

class LimitFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override { return "limit=<N>    (optional) Limit connections"; }

  bool config(std::string_view key, std::string_view value) override {
    if (key != "limit") return false;
    limit_ = nbdkit::parse_uint32(key, value);
    return true;
  }

  // Checked twice: before the handshake (so an extra client is dropped
  // at once) and when the export opens (two clients may pass the first
  // check together).
  void preconnect(bool) override {
    std::lock_guard lock(mutex_);
    check_room();
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    {
      std::lock_guard lock(mutex_);
      check_room();
      ++connected_;
    }
    try {
      return std::make_unique<CountedContext>(next(readonly, exportname), *this);
    } catch (...) {
      closed();
      throw;
    }
  }

  void closed() {
    std::lock_guard lock(mutex_);
    --connected_;
  }

 private:
  void check_room() const {
    if (limit_ > 0 && connected_ >= limit_)
      throw nbdkit::Error("limit: too many clients connected, connection rejected", EPERM);
  }

  unsigned limit_ = 1;
  std::mutex mutex_;
  unsigned connected_ = 0;
};

CountedContext::CountedContext(std::unique_ptr<nbdkit::Context> next, LimitFilter& filter)
    : FilterContext(std::move(next)), filter_(filter) {}

CountedContext::~CountedContext() { filter_.closed(); }

}  // namespace

NBDKIT_REGISTER_FILTER("limit", LimitFilter);
