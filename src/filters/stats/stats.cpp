// nbdkit --filter=stats: counts requests, bytes and time spent per kind
// of request and writes the totals to `statsfile=` when the server exits
// (nbdkit-stats-filter(1)).
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

using Clock = std::chrono::steady_clock;

// In nbdkit's order of the report.
enum Operation { op_read, op_write, op_trim, op_zero, op_extents, op_cache, op_flush, op_count };
constexpr std::array<const char*, op_count> operation_names = {
    "read", "write", "trim", "zero", "extents", "cache", "flush"};

struct Counter {
  std::atomic<uint64_t> ops{0}, bytes{0}, microseconds{0};
};

uint64_t microseconds_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// "512 bytes", "4.50 KiB", "1.00 MiB"...: whole bytes below 1 KiB.
std::string human_size(double bytes) {
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(static_cast<uint64_t>(bytes)) + " bytes";
  int unit = -1;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  char text[48];
  std::snprintf(text, sizeof text, "%.2f %s", bytes, units[unit]);
  return text;
}

std::string rate(uint64_t bytes, uint64_t microseconds) {
  if (microseconds == 0) return "(n/a)";
  return human_size(static_cast<double>(bytes) * 1e6 / static_cast<double>(microseconds));
}

class StatsFilter;

class StatsContext final : public nbdkit::FilterContext {
 public:
  StatsContext(std::unique_ptr<nbdkit::Context> next, std::array<Counter, op_count>& counters)
      : FilterContext(std::move(next)), counters_(counters) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return timed(op_read, count, [&] { return next().pread(buf, count, offset, flags); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return timed(op_write, count, [&] { return next().pwrite(buf, count, offset, flags); });
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return timed(op_trim, count, [&] { return next().trim(count, offset, flags); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return timed(op_zero, count, [&] { return next().zero(count, offset, flags); });
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    return timed(op_extents, count,
                 [&] { return next().extents(count, offset, flags, out); });
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    return timed(op_cache, count, [&] { return next().cache(count, offset, flags); });
  }
  int flush(uint32_t flags) override {
    return timed(op_flush, 0, [&] { return next().flush(flags); });
  }

 private:
  // Only successful requests count, as in nbdkit.
  template <typename Call>
  int timed(Operation op, uint32_t bytes, Call&& call) {
    const auto start = Clock::now();
    const int err = call();
    if (err == 0) {
      Counter& counter = counters_[op];
      counter.microseconds += microseconds_since(start);
      counter.bytes += bytes;
      ++counter.ops;
    }
    return err;
  }

  std::array<Counter, op_count>& counters_;
};

class StatsFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "statsfile=<FILE>    (required) The file to place the log in.\n"
           "statsappend=<BOOL>  True to append to the log (default false).\n"
           "statsthreshold=<PERCENT>  Accepted; request size histograms are not printed.";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "statsfile") {
      path_ = nbdkit::absolute_path(value);
    } else if (key == "statsappend") {
      append_ = nbdkit::parse_bool(key, value);
    } else if (key == "statsthreshold") {
      if (nbdkit::parse_uint32(key, value) > 100)
        throw nbdkit::Error("statsthreshold must be between 0 and 100 (percent)");
    } else {
      return false;
    }
    return true;
  }

  void config_complete() override {
    if (path_.empty()) throw nbdkit::Error("stats filter requires statsfile parameter");
    file_ = std::fopen(path_.c_str(), append_ ? "ae" : "we");
    if (!file_) throw nbdkit::Error("statsfile: " + path_ + ": " + std::strerror(errno), errno);
  }
  void get_ready() override { start_ = Clock::now(); }

  void cleanup() override {
    if (!file_) return;
    write_report(microseconds_since(start_));
    std::fclose(file_);
    file_ = nullptr;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<StatsContext>(next(readonly, exportname), counters_);
  }

 private:
  // The total counts every request but cache, and the bytes of the
  // requests that move or change data.
  void write_report(uint64_t elapsed) {
    uint64_t ops = 0, bytes = 0;
    for (int op = 0; op < op_count; ++op) {
      if (op != op_cache) ops += counters_[op].ops;
      if (op <= op_zero) bytes += counters_[op].bytes;
    }
    std::fprintf(file_, "total: %llu ops, %.6f s, %s, %s/s\n",
                 static_cast<unsigned long long>(ops), static_cast<double>(elapsed) / 1e6,
                 human_size(static_cast<double>(bytes)).c_str(), rate(bytes, elapsed).c_str());
    for (int op = 0; op < op_count; ++op) {
      const Counter& c = counters_[op];
      if (c.ops == 0) continue;
      std::fprintf(file_, "%s: %llu ops, %.6f s, %s, %s/s op, %s/s total\n", operation_names[op],
                   static_cast<unsigned long long>(c.ops.load()),
                   static_cast<double>(c.microseconds) / 1e6,
                   human_size(static_cast<double>(c.bytes)).c_str(),
                   rate(c.bytes, c.microseconds).c_str(), rate(c.bytes, elapsed).c_str());
    }
  }

  std::string path_;
  bool append_ = false;
  std::FILE* file_ = nullptr;
  Clock::time_point start_ = Clock::now();
  std::array<Counter, op_count> counters_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("stats", StatsFilter);
