// nbdkit --filter=retry-request: retries a failed request (and, unless
// told otherwise, a failed open) a few times after a delay, without
// reopening anything (nbdkit-retry-request-filter(1)).
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

#include "../common/retrying_context.hpp"

namespace {

struct RetrySettings {
  unsigned retries = 2;
  uint64_t delay_ns = 2'000'000'000;
  bool retry_open = true;
};

// Runs `attempt` until it returns 0 or the retries are spent; returns its
// last result.  A sleep cut short by a shutdown or hang-up ends it early.
template <typename Attempt>
int retry_request(const RetrySettings& settings, const char* what, Attempt&& attempt) {
  int err = attempt();
  for (unsigned i = 1; err != 0 && i <= settings.retries; ++i) {
    nbdkit::debug("retry-request: %s failed (%s), retry %u of %u", what, std::strerror(err), i,
                  settings.retries);
    if (nbdkit::nanosleep(settings.delay_ns) != 0) return err;
    err = attempt();
  }
  return err;
}

class RetryRequestContext final
    : public nbdkit::filters::RetryingContext<RetryRequestContext> {
 public:
  RetryRequestContext(std::unique_ptr<nbdkit::Context> next, const RetrySettings& settings)
      : RetryingContext(std::move(next)), settings_(settings) {}

  template <typename Attempt>
  int with_retries(const char* what, bool, Attempt&& attempt) {
    return retry_request(settings_, what, std::forward<Attempt>(attempt));
  }

 private:
  const RetrySettings& settings_;
};

class RetryRequestFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "retry-request-retries=<N>     Number of retries (default: 2).\n"
           "retry-request-delay=<N>       Seconds to wait before retry (default: 2).\n"
           "retry-request-open=false      Do not retry opening the plugin (default: true).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "retry-request-retries")
      settings_.retries = nbdkit::parse_uint32(key, value);
    else if (key == "retry-request-delay")
      settings_.delay_ns = nbdkit::parse_delay(key, value);
    else if (key == "retry-request-open")
      settings_.retry_open = nbdkit::parse_bool(key, value);
    else
      return false;
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    std::unique_ptr<nbdkit::Context> below;
    std::string last_failure;
    int err = retry_request(settings_.retry_open ? settings_ : RetrySettings{0, 0, false}, "open",
                           [&] {
                             try {
                               below = next(readonly, exportname);
                               return 0;
                             } catch (const nbdkit::Error& e) {
                               last_failure = e.what();
                               return e.errno_value ? e.errno_value : EIO;
                             }
                           });
    if (err != 0) throw nbdkit::Error(last_failure, err);
    return std::make_unique<RetryRequestContext>(std::move(below), settings_);
  }

 private:
  RetrySettings settings_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("retry-request", RetryRequestFilter);
