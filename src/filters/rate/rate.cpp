// nbdkit --filter=rate: limits the bandwidth of reads and writes, for the
// whole server (rate=) and per connection (connection-rate=), with token
// buckets; the rates can be changed while running by writing them into
// rate-file= / connection-rate-file= (nbdkit-rate-filter(1)).  Reads and
// writes have separate buckets; other requests are free.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include <nbdkit/plugin.hpp>

namespace {

using Clock = std::chrono::steady_clock;

// A rate that may be re-read from a file (at most once a second).
class RateSource {
 public:
  void set(uint64_t bits_per_second) { rate_ = bits_per_second; }
  void set_file(std::string path) { file_ = std::move(path); }

  // Bits per second now; 0 means unlimited.
  uint64_t current() {
    if (file_.empty()) return rate_;
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (now - checked_ >= std::chrono::seconds(1)) {
      checked_ = now;
      // A missing or unreadable file keeps the last rate.
      std::ifstream in(file_);
      std::string text;
      if (in >> text) {
        try {
          rate_ = nbdkit::parse_size("rate file", text);
        } catch (const nbdkit::Error& e) {
          nbdkit::error("%s: %s", file_.c_str(), e.what());
        }
      }
    }
    return rate_;
  }

 private:
  std::mutex mutex_;
  uint64_t rate_ = 0;
  std::string file_;
  Clock::time_point checked_{};
};

// Tokens are bits; the bucket holds at most `burstiness` seconds' worth.
// Taking more than there is leaves a debt that the caller sleeps off.
class Bucket {
 public:
  // Nanoseconds to wait before `bits` may go.
  uint64_t take(uint64_t bits, uint64_t rate, double burstiness) {
    if (rate == 0) return 0;
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    const double capacity = static_cast<double>(rate) * burstiness;
    if (!started_) {
      tokens_ = capacity;
      started_ = true;
    } else {
      const double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(capacity, tokens_ + elapsed * static_cast<double>(rate));
    }
    last_ = now;
    tokens_ -= static_cast<double>(bits);
    if (tokens_ >= 0) return 0;
    return static_cast<uint64_t>(-tokens_ / static_cast<double>(rate) * 1e9);
  }

 private:
  std::mutex mutex_;
  bool started_ = false;
  double tokens_ = 0;
  Clock::time_point last_;
};

struct Settings {
  RateSource total, per_connection;
  double burstiness = 2.0;
  Bucket total_read, total_write;
};

class RateContext final : public nbdkit::FilterContext {
 public:
  RateContext(std::unique_ptr<nbdkit::Context> next, Settings& s)
      : FilterContext(std::move(next)), s_(s) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = wait(count, s_.total_read, read_)) return err;
    return next().pread(buf, count, offset, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = wait(count, s_.total_write, write_)) return err;
    return next().pwrite(buf, count, offset, flags);
  }

 private:
  // Waits until both buckets let `bytes` through; 0, or ESHUTDOWN.
  int wait(uint32_t bytes, Bucket& total, Bucket& mine) {
    const uint64_t bits = uint64_t{bytes} * 8;
    const uint64_t ns = std::max(mine.take(bits, s_.per_connection.current(), s_.burstiness),
                                 total.take(bits, s_.total.current(), s_.burstiness));
    return ns ? nbdkit::nanosleep(ns) : 0;
  }

  Settings& s_;
  Bucket read_, write_;
};

class RateFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "rate=BITSPERSEC                Limit total bandwidth.\n"
           "connection-rate=BITSPERSEC     Limit per-connection bandwidth.\n"
           "rate-file=FILENAME             Dynamically adjust total bandwidth.\n"
           "connection-rate-file=FILENAME  Dynamically adjust per-connection bandwidth.\n"
           "burstiness=SECS                Set length of bursts.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key == "rate") {
      s_.total.set(nbdkit::parse_size(key, value));
    } else if (key == "connection-rate") {
      s_.per_connection.set(nbdkit::parse_size(key, value));
    } else if (key == "rate-file") {
      s_.total.set_file(nbdkit::absolute_path(value));
    } else if (key == "connection-rate-file") {
      s_.per_connection.set_file(nbdkit::absolute_path(value));
    } else if (key == "burstiness") {
      std::istringstream in{std::string(value)};
      double seconds = 0;
      if (!(in >> seconds) || !in.eof() || seconds <= 0)
        throw nbdkit::Error("burstiness: cannot parse '" + std::string(value) + "'");
      s_.burstiness = seconds;
    } else {
      return false;
    }
    return true;
  }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<RateContext>(next(readonly, exportname), s_);
  }

 private:
  Settings s_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("rate", RateFilter);
