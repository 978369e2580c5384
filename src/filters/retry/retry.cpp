// nbdkit --filter=retry: when a request fails, closes and reopens the
// layers below (after a delay, growing exponentially by default) and
// tries again, a bounded number of times (nbdkit-retry-filter(1)).
#include <cstring>
#include <mutex>
#include <string>

#include <nbdkit/plugin.hpp>

#include "../common/retrying_context.hpp"

namespace {

struct RetrySettings {
  unsigned retries = 5;
  uint64_t delay_ns = 2'000'000'000;
  bool exponential = true;
  bool readonly_after_failure = false;
};

class RetryContext final : public nbdkit::filters::RetryingContext<RetryContext> {
 public:
  RetryContext(const nbdkit::OpenNext& next, bool readonly, std::string_view exportname,
               const RetrySettings& settings)
      : RetryingContext(next, readonly, exportname), settings_(settings) {}

 // Runs `attempt` on an open layer below; on failure sleeps, reopens and
  // tries again until the retries are spent.  A layer left closed by a
  // failed reopen is reopened before the next request.
  template <typename Attempt>
  int with_retries(const char* what, bool writes, Attempt&& attempt) {
    std::lock_guard lock(mutex_);
    int err = ready(writes) ? ready(writes) : attempt();
    uint64_t delay = settings_.delay_ns;
    for (unsigned i = 1; err != 0 && i <= settings_.retries; ++i) {
      nbdkit::debug("retry: %s failed (%s), retry %u of %u", what, std::strerror(err), i,
                    settings_.retries);
      if (nbdkit::nanosleep(delay) != 0) return err;
      if (settings_.exponential) delay *= 2;
      if (!reopen_below()) continue;
      err = ready(writes) ? ready(writes) : attempt();
    }
    return err;
  }

 private:
  // 0 when the layer below can take the request now.
  int ready(bool writes) {
    if (!has_next()) return EIO;
    if (writes && readonly_now_) return EROFS;
    return 0;
  }

  bool reopen_below() {
    if (settings_.readonly_after_failure) readonly_now_ = true;
    try {
      if (readonly_now_)
        reopen(true);
      else
        reopen();
      return true;
    } catch (const std::exception& e) {
      nbdkit::error("retry: reopen failed: %s", e.what());
      return false;
    }
  }

  const RetrySettings& settings_;
  // Reopening replaces the layer below under any other request's feet.
  std::mutex mutex_;
  bool readonly_now_ = false;
};

class RetryFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "retries=<N>              Number of retries (default: 5).\n"
           "retry-delay=<N>          Second to wait before retry (default: 2).\n"
           "retry-exponential=yes|no Exponential back-off (default: yes).\n"
           "retry-readonly=yes|no    Force read-only on failure (default: no).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "retries")
      settings_.retries = nbdkit::parse_uint32(key, value);
    else if (key == "retry-delay")
      settings_.delay_ns = nbdkit::parse_delay(key, value);
    else if (key == "retry-exponential")
      settings_.exponential = nbdkit::parse_bool(key, value);
    else if (key == "retry-readonly")
      settings_.readonly_after_failure = nbdkit::parse_bool(key, value);
    else
      return false;
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<RetryContext>(next, readonly, exportname, settings_);
  }

 private:
  RetrySettings settings_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("retry", RetryFilter);
