// nbdkit --filter=delay: slows requests (and optionally open and close)
// down by a fixed time, to simulate a slow or remote disk
// (nbdkit-delay-filter(1)).  The sleeps end early when the server shuts
// down or the client hangs up.
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

struct Delays {
  uint64_t read = 0, write = 0, zero = 0, trim = 0, extents = 0, cache = 0;
  uint64_t open = 0, close = 0;
  bool delay_fast_zero = true;
};

// 0, or ESHUTDOWN when the sleep was cut short.
int pause_for(uint64_t ns, const char* what) {
  if (ns == 0) return 0;
  nbdkit::debug("delay: %s: waiting %llu ms", what, static_cast<unsigned long long>(ns / 1'000'000));
  return nbdkit::nanosleep(ns);
}

class DelayContext final : public nbdkit::FilterContext {
 public:
  DelayContext(std::unique_ptr<nbdkit::Context> next, const Delays& delays)
      : FilterContext(std::move(next)), delays_(delays) {}
  // Only a graceful disconnect waits: a hang-up interrupts the sleep.
  ~DelayContext() override { pause_for(delays_.close, "close"); }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = pause_for(delays_.read, "read")) return err;
    return next().pread(buf, count, offset, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = pause_for(delays_.write, "write")) return err;
    return next().pwrite(buf, count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = pause_for(delays_.trim, "trim")) return err;
    return next().trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if ((flags & nbdkit::flags::fast_zero) && !delays_.delay_fast_zero && delays_.zero != 0)
      return ENOTSUP;
    if (const int err = pause_for(delays_.zero, "zero")) return err;
    return next().zero(count, offset, flags);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    if (const int err = pause_for(delays_.extents, "extents")) return err;
    return next().extents(count, offset, flags, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = pause_for(delays_.cache, "cache")) return err;
    return next().cache(count, offset, flags);
  }

 private:
  const Delays& delays_;
};

class DelayFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "rdelay=<NN>[ms]                Read delay in seconds/milliseconds.\n"
           "delay-read=<NN>[ms]            Read delay in seconds/milliseconds.\n"
           "delay-write=<NN>[ms]           Write delay in seconds/milliseconds.\n"
           "delay-zero=<NN>[ms]            Zero delay in seconds/milliseconds.\n"
           "delay-trim=<NN>[ms]            Trim delay in seconds/milliseconds.\n"
           "delay-extents=<NN>[ms]         Extents delay in seconds/milliseconds.\n"
           "delay-cache=<NN>[ms]           Cache delay in seconds/milliseconds.\n"
           "wdelay=<NN>[ms]                Write, zero and trim delay in secs/msecs.\n"
           "delay-fast-zero=<BOOL>         Delay fast zero requests (default true).\n"
           "delay-open=<NN>[ms]            Open delay in seconds/milliseconds.\n"
           "delay-close=<NN>[ms]           Close delay in seconds/milliseconds.";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "delay-fast-zero") {
      delays_.delay_fast_zero = nbdkit::parse_bool(key, value);
      return true;
    }
    uint64_t* targets[3] = {};
    if (key == "rdelay" || key == "delay-read")
      targets[0] = &delays_.read;
    else if (key == "delay-write")
      targets[0] = &delays_.write;
    else if (key == "delay-zero")
      targets[0] = &delays_.zero;
    else if (key == "delay-trim")
      targets[0] = &delays_.trim;
    else if (key == "delay-extents")
      targets[0] = &delays_.extents;
    else if (key == "delay-cache")
      targets[0] = &delays_.cache;
    else if (key == "delay-open")
      targets[0] = &delays_.open;
    else if (key == "delay-close")
      targets[0] = &delays_.close;
    else if (key == "wdelay") {
      targets[0] = &delays_.write;
      targets[1] = &delays_.zero;
      targets[2] = &delays_.trim;
    } else {
      return false;
    }
    const uint64_t ns = nbdkit::parse_delay(key, value);
    for (uint64_t* target : targets)
      if (target) *target = ns;
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    if (pause_for(delays_.open, "open") != 0) throw nbdkit::Error("delay-open interrupted", ESHUTDOWN);
    return std::make_unique<DelayContext>(next(readonly, exportname), delays_);
  }

 private:
  Delays delays_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("delay", DelayFilter);
