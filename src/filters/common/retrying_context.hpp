// The data calls of a filter that retries failed requests (retry,
// retry-request), each routed through the derived class's
// `int with_retries(const char* what, bool writes, Attempt attempt)`,
// which runs `attempt` (returning 0 or an errno) until it succeeds or the
// filter gives up.
#pragma once

#include <cerrno>
#include <utility>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

template <typename Derived>
class RetryingContext : public FilterContext {
 public:
  using FilterContext::FilterContext;

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return retry("pread", false, [&] { return next().pread(buf, count, offset, flags); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return retry("pwrite", true, [&] { return next().pwrite(buf, count, offset, flags); });
  }
  int flush(uint32_t flags) override {
    return retry("flush", false, [&] { return next().flush(flags); });
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return retry("trim", true, [&] { return next().trim(count, offset, flags); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    // "Not supported" is an answer (the server then emulates zeroing or
    // refuses a fast zero), not a failure worth retrying.
    int unsupported = 0;
    const int err = retry("zero", true, [&] {
      const int attempt = next().zero(count, offset, flags);
      if (attempt != ENOTSUP && attempt != EOPNOTSUPP) return attempt;
      unsupported = attempt;
      return 0;
    });
    return unsupported ? unsupported : err;
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out) override {
    return retry("extents", false, [&] {
      out.clear();
      return next().extents(count, offset, flags, out);
    });
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    return retry("cache", false, [&] { return next().cache(count, offset, flags); });
  }

 private:
  template <typename Attempt>
  int retry(const char* what, bool writes, Attempt&& attempt) {
    return static_cast<Derived*>(this)->with_retries(what, writes,
                                                     std::forward<Attempt>(attempt));
  }
};

}  // namespace nbdkit::filters
