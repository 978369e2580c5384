// nbdkit --filter=error: injects errors into replies at a configurable
// rate, for all requests or per kind of request, optionally only while a
// trigger file exists (nbdkit-error-filter(1)).
#include <sys/stat.h>

#include <array>
#include <cstring>
#include <random>
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

enum Operation { op_pread, op_pwrite, op_trim, op_zero, op_extents, op_cache, op_count };
constexpr std::array<const char*, op_count> operation_names = {"pread", "pwrite", "trim",
                                                               "zero",  "extents", "cache"};

// The errors the NBD protocol can carry, by name.
struct ErrorName {
  const char* name;
  int value;
};
constexpr ErrorName error_names[] = {{"EPERM", EPERM},   {"EIO", EIO},       {"ENOMEM", ENOMEM},
                                     {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC}, {"ESHUTDOWN", ESHUTDOWN}};

int parse_error_name(std::string_view key, std::string_view text) {
  for (const auto& known : error_names)
    if (text == known.name) return known.value;
  throw nbdkit::Error(std::string(key) + ": unknown error name '" + std::string(text) +
                      "' (expected EPERM, EIO, ENOMEM, EINVAL, ENOSPC or ESHUTDOWN)");
}

const char* error_name(int value) {
  for (const auto& known : error_names)
    if (value == known.value) return known.name;
  return "EIO";
}

struct Injection {
  int error = EIO;
  double rate = 0;
  std::string trigger_file;  // empty: always armed
};

// One uniform draw per request; each thread has its own generator.
double random_fraction() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

class ErrorFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "error=EPERM|EIO|ENOMEM|EINVAL|ENOSPC|ESHUTDOWN\n"
           "                               The error indication to return.\n"
           "error-rate=0%..100%|0..1       Rate of errors to generate.\n"
           "error-file=TRIGGER             Set trigger filename.\n"
           "error-pread*, error-pwrite*, error-trim*, error-zero*, error-extents*, error-cache*\n"
           "                               Apply settings only to read/write/etc";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (!key.starts_with("error")) return false;
    std::string_view rest = key.substr(5);
    // "error", "error-rate", "error-file" apply to every operation;
    // "error-OP", "error-OP-rate", "error-OP-file" to one.
    int only = -1;
    for (int op = 0; op < op_count; ++op) {
      const std::string prefix = std::string("-") + operation_names[op];
      if (rest.starts_with(prefix) &&
          (rest.size() == prefix.size() || rest[prefix.size()] == '-')) {
        only = op;
        rest.remove_prefix(prefix.size());
        break;
      }
    }
    void (*apply)(Injection&, std::string_view, std::string_view);
    if (rest.empty())
      apply = [](Injection& i, std::string_view k, std::string_view v) {
        i.error = parse_error_name(k, v);
      };
    else if (rest == "-rate")
      apply = [](Injection& i, std::string_view k, std::string_view v) { i.rate = parse_rate(k, v); };
    else if (rest == "-file")
      apply = [](Injection& i, std::string_view, std::string_view v) {
        i.trigger_file = nbdkit::absolute_path(v);
      };
    else
      return false;
    for (int op = 0; op < op_count; ++op)
      if (only < 0 || only == op) apply(injections_[op], key, value);
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override;

  // 0, or the error to inject into this request.
  int inject(Operation op) const {
    const Injection& injection = injections_[op];
    if (injection.rate <= 0) return 0;
    if (!injection.trigger_file.empty()) {
      struct stat st;
      if (::stat(injection.trigger_file.c_str(), &st) == -1) return 0;
    }
    if (injection.rate < 1 && random_fraction() >= injection.rate) return 0;
    nbdkit::error("injecting %s error into %s", error_name(injection.error), operation_names[op]);
    return injection.error;
  }

 private:
  static double parse_rate(std::string_view key, std::string_view value) {
    const double rate = nbdkit::parse_probability(key, value);
    if (rate > 1)
      throw nbdkit::Error(std::string(key) + ": rate out of range: '" + std::string(value) +
                          "' (expected 0%..100% or 0..1)");
    return rate;
  }

  std::array<Injection, op_count> injections_;
};

class ErrorContext final : public nbdkit::FilterContext {
 public:
  ErrorContext(std::unique_ptr<nbdkit::Context> next, const ErrorFilter& filter)
      : FilterContext(std::move(next)), filter_(filter) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = filter_.inject(op_pread)) return err;
    return next().pread(buf, count, offset, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = filter_.inject(op_pwrite)) return err;
    return next().pwrite(buf, count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = filter_.inject(op_trim)) return err;
    return next().trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = filter_.inject(op_zero)) return err;
    return next().zero(count, offset, flags);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    if (const int err = filter_.inject(op_extents)) return err;
    return next().extents(count, offset, flags, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = filter_.inject(op_cache)) return err;
    return next().cache(count, offset, flags);
  }

 private:
  const ErrorFilter& filter_;
};

std::unique_ptr<nbdkit::Context> ErrorFilter::open(const nbdkit::OpenNext& next, bool readonly,
                                                   std::string_view exportname, bool) {
  return std::make_unique<ErrorContext>(next(readonly, exportname), *this);
}

}  // namespace

NBDKIT_REGISTER_FILTER("error", ErrorFilter);
