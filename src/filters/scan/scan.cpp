// nbdkit --filter=scan: while clients are connected to the default
// export, prefetches (cache requests) the whole disk from start to end,
// skipping ahead of the client's reads (nbdkit-scan-filter(1)).  Each
// connection has a scanning thread; they share one position, so two
// clients split the work instead of repeating it.
#include <algorithm>
#include <atomic>
#include <vector>
#include <mutex>
#include <thread>

#include <nbdkit/plugin.hpp>

namespace {

struct ScanOptions {
  bool ahead = true, clock = true, forever = false;
  uint64_t size = 2 * 1024 * 1024;
};

// What all connections share: where the scan is, and who is connected.
struct ScanState {
  std::atomic<uint64_t> position{0};
  std::mutex mutex;
  unsigned connections = 0;

  // Moves the position forward to `to` (never back).
  void skip_to(uint64_t to) {
    uint64_t now = position.load();
    while (now < to && !position.compare_exchange_weak(now, to)) {
    }
  }
};

class ScanContext final : public nbdkit::FilterContext {
 public:
  ScanContext(std::unique_ptr<nbdkit::Context> next, ScanState& state, const ScanOptions& options)
      : FilterContext(std::move(next)), state_(state), options_(options),
        size_(this->next().get_size()), emulate_(this->next().can_cache() != nbdkit::CacheSupport::native) {
    std::lock_guard lock(state_.mutex);
    ++state_.connections;
    worker_ = std::thread([this] { run(); });
  }
  ~ScanContext() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    worker_.join();
    std::lock_guard lock(state_.mutex);
    // scan-clock=false: the next client starts the scan over.
    if (--state_.connections == 0 && !options_.clock) state_.position = 0;
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    // scan-ahead: what the client reads itself needs no prefetching.
    if (options_.ahead) state_.skip_to(offset / options_.size * options_.size);
    return next().pread(buf, count, offset, flags);
  }

 private:
  void run() {
    std::vector<char> scratch;
    while (!stopped()) {
      const uint64_t pos = state_.position.fetch_add(options_.size);
      if (pos >= size_) {
        if (!options_.forever) return;
        uint64_t expected = pos + options_.size;  // wrap once, whoever gets here first
        state_.position.compare_exchange_strong(expected, 0);
        continue;
      }
      const auto n = static_cast<uint32_t>(std::min<uint64_t>(options_.size, size_ - pos));
      // Errors only cost the prefetch; the client's reads will report.
      if (emulate_) {
        scratch.resize(n);
        (void)next().pread(scratch.data(), n, pos, 0);
      } else {
        (void)next().cache(n, pos, 0);
      }
    }
  }

  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  ScanState& state_;
  const ScanOptions& options_;
  const uint64_t size_;
  const bool emulate_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::thread worker_;
};

class ScanFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "scan-ahead=false      Skip ahead when client reads faster.\n"
           "scan-clock=false      Stop scanning when client disconnects.\n"
           "scan-forever=true     Scan in a loop while clients connected.\n"
           "scan-size=NN          Set scan block size (power of 2, default 2M).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "scan-ahead") {
      options_.ahead = nbdkit::parse_bool(key, value);
    } else if (key == "scan-clock") {
      options_.clock = nbdkit::parse_bool(key, value);
    } else if (key == "scan-forever") {
      options_.forever = nbdkit::parse_bool(key, value);
    } else if (key == "scan-size") {
      const uint64_t n = nbdkit::parse_size(key, value);
      if (n < 512 || n > 1024 * 1024 * 1024 || (n & (n - 1)) != 0)
        throw nbdkit::Error("scan-size must be a power of 2 between 512 and 1G");
      options_.size = n;
    } else {
      return false;
    }
    return true;
  }

  void get_ready() override {
    if (nbdkit::server_thread_model() != nbdkit::ThreadModel::parallel) {
      nbdkit::error("scan: the thread model is not parallel: the filter does nothing");
      enabled_ = false;
    }
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    // Only the default export is scanned, as in nbdkit.
    if (!enabled_ || !exportname.empty() || below->can_cache() == nbdkit::CacheSupport::none)
      return below;
    return std::make_unique<ScanContext>(std::move(below), state_, options_);
  }

 private:
  ScanOptions options_;
  ScanState state_;
  std::atomic<bool> enabled_ = true;
};

}  // namespace

NBDKIT_REGISTER_FILTER("scan", ScanFilter);
