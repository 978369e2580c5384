// nbdkit --filter=blocksize-policy: advertises block size constraints the
// plugin does not have, and with blocksize-error-policy=error refuses
// (EINVAL) requests that break them before the plugin sees them
// (nbdkit-blocksize-policy-filter(1)).
#include <optional>

#include "../common/choice.hpp"

namespace {

struct Policy {
  std::optional<uint32_t> minimum, preferred, maximum;
  bool refuse = false;  // blocksize-error-policy=error
};

bool is_power_of_2(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

class PolicyContext final : public nbdkit::FilterContext {
 public:
  PolicyContext(std::unique_ptr<nbdkit::Context> next, const Policy& policy)
      : FilterContext(std::move(next)), sizes_(sizes_with(policy)), refuse_(policy.refuse) {}

  std::optional<nbdkit::BlockSize> block_size() override { return sizes_; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check("read", true, count, offset)) return err;
    return next().pread(buf, count, offset, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check("write", true, count, offset)) return err;
    return next().pwrite(buf, count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check("trim", false, count, offset)) return err;
    return next().trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check("zero", false, count, offset)) return err;
    return next().zero(count, offset, flags);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check("cache", false, count, offset)) return err;
    return next().cache(count, offset, flags);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    if (const int err = check("extents", false, count, offset)) return err;
    return next().extents(count, offset, flags, out);
  }

 private:
  // The plugin's constraints (or the usual defaults) with ours on top;
  // none when neither the plugin nor the parameters set any.
  std::optional<nbdkit::BlockSize> sizes_with(const Policy& policy) {
    std::optional<nbdkit::BlockSize> sizes = next().block_size();
    if (!sizes && !policy.minimum && !policy.preferred && !policy.maximum) return std::nullopt;
    nbdkit::BlockSize result = sizes.value_or(nbdkit::BlockSize{});
    if (policy.minimum) result.minimum = *policy.minimum;
    if (policy.preferred) result.preferred = *policy.preferred;
    if (policy.maximum) result.maximum = *policy.maximum;
    if (result.preferred < result.minimum) result.preferred = result.minimum;
    return result;
  }

  // 0, or EINVAL when the error policy refuses a request breaking the
  // constraints (the maximum concerns requests carrying data only).
  int check(const char* what, bool data, uint32_t count, uint64_t offset) {
    if (!refuse_ || !sizes_) return 0;
    const nbdkit::BlockSize& s = *sizes_;
    const char* problem = nullptr;
    if (count % s.minimum != 0)
      problem = "count is not a multiple of the minimum block size";
    else if (offset % s.minimum != 0)
      problem = "offset is not a multiple of the minimum block size";
    else if (data && count > s.maximum)
      problem = "count is larger than the maximum block size";
    if (!problem) return 0;
    nbdkit::error("client %s request rejected: %s (count %u, offset %llu)", what, problem,
                  count, static_cast<unsigned long long>(offset));
    return EINVAL;
  }

  const std::optional<nbdkit::BlockSize> sizes_;
  const bool refuse_;
};

class PolicyFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "blocksize-error-policy=allow|error\n"
           "                              Action to take if client exceeds limits.\n"
           "blocksize-minimum=N           Minimum permitted block size.\n"
           "blocksize-preferred=N         Preferred block size.\n"
           "blocksize-maximum=N           Maximum permitted block size.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key == "blocksize-error-policy") {
      policy_.refuse = nbdkit::filters::parse_choice<bool>(
          key, value, {{"allow", false}, {"error", true}});
    } else if (key == "blocksize-minimum") {
      const uint64_t n = nbdkit::parse_size(key, value);
      if (!is_power_of_2(n)) throw nbdkit::Error("blocksize-minimum must be a power of 2");
      if (n > 65536) throw nbdkit::Error("blocksize-minimum must be <= 64K");
      policy_.minimum = static_cast<uint32_t>(n);
    } else if (key == "blocksize-preferred") {
      const uint64_t n = nbdkit::parse_size(key, value);
      if (!is_power_of_2(n)) throw nbdkit::Error("blocksize-preferred must be a power of 2");
      if (n < 512 || n > 32 * 1024 * 1024)
        throw nbdkit::Error("blocksize-preferred must be between 512 and 32M");
      policy_.preferred = static_cast<uint32_t>(n);
    } else if (key == "blocksize-maximum") {
      const uint64_t n = nbdkit::parse_size(key, value);
      if (n == 0 || n > UINT32_MAX)
        throw nbdkit::Error("blocksize-maximum: could not parse " + std::string(value));
      policy_.maximum = static_cast<uint32_t>(n);
    } else {
      return false;
    }
    return true;
  }
  void config_complete() override {
    const Policy& p = policy_;
    if (p.minimum && p.preferred && *p.minimum > *p.preferred)
      throw nbdkit::Error("blocksize-minimum must be <= blocksize-preferred");
    if (p.preferred && p.maximum && *p.preferred > *p.maximum)
      throw nbdkit::Error("blocksize-preferred must be <= blocksize-maximum");
    if (p.minimum && p.maximum && *p.minimum > *p.maximum)
      throw nbdkit::Error("blocksize-minimum must be <= blocksize-maximum");
  }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<PolicyContext>(next(readonly, exportname), policy_);
  }

 private:
  Policy policy_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("blocksize-policy", PolicyFilter);
