// The API for filters: a Filter (lifecycle, configuration, the calls it
// may wrap on their way to the plugin) and a FilterContext per connection
// that forwards to the layer below whatever it does not change.  See
// docs/nbdkit-filter-api.md.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/context.hpp>
#include <nbdkit/services.hpp>

namespace nbdkit {

// Opens the layer below a filter, possibly with other arguments.
using OpenNext =
    std::function<std::unique_ptr<Context>(bool readonly, std::string_view exportname)>;
// The rest of the stack below a filter, for the calls a filter may wrap.
using ConfigNext = std::function<void(std::string_view key, std::string_view value)>;
using PreconnectNext = std::function<void(bool readonly)>;
using ListExportsNext = std::function<std::vector<ExportInfo>(bool readonly, bool is_tls)>;
using DefaultExportNext = std::function<std::string(bool readonly, bool is_tls)>;

// Every call forwards to the layers below unless the filter overrides it.
class Filter : public Layer {
 public:
  // Return true if the key belongs to this filter; false passes it on
  // towards the plugin.  Throw nbdkit::Error for a bad value.
  virtual bool config(std::string_view /*key*/, std::string_view /*value*/) { return false; }
  // The general form, for a filter that rewrites keys: call next() with
  // the key and value to pass on (any number of times, or not at all to
  // consume the key).  By default it asks config() above.
  virtual void config_chained(const ConfigNext& next, std::string_view key,
                              std::string_view value) {
    if (!config(key, value)) next(key, value);
  }

  // Runs before the layers below see the new client; throw to refuse it,
  // or do not call next() to decide without them.  By default it calls
  // preconnect(readonly) then the layers below.
  virtual void preconnect_chained(const PreconnectNext& next, bool readonly) {
    preconnect(readonly);
    next(readonly);
  }

  virtual std::vector<ExportInfo> list_exports(const ListExportsNext& next, bool readonly,
                                               bool is_tls) {
    return next(readonly, is_tls);
  }
  virtual std::string default_export(const DefaultExportNext& next, bool readonly,
                                     bool is_tls) {
    return next(readonly, is_tls);
  }

  virtual std::unique_ptr<Context> open(const OpenNext& next, bool readonly,
                                        std::string_view exportname, bool /*is_tls*/) {
    return next(readonly, exportname);
  }
};

// Forwards every call to the layer below; filters override what they change.
class FilterContext : public Context {
 public:
  explicit FilterContext(std::unique_ptr<Context> next) : next_(std::move(next)) {}
  // Opens the layer below and remembers how, so that reopen() can repeat it.
  FilterContext(OpenNext open_next, bool readonly, std::string_view exportname);

  uint64_t get_size() override { return next_->get_size(); }
  std::optional<BlockSize> block_size() override { return next_->block_size(); }
  std::string export_description() override { return next_->export_description(); }
  bool can_write() override { return next_->can_write(); }
  bool can_flush() override { return next_->can_flush(); }
  bool is_rotational() override { return next_->is_rotational(); }
  bool can_trim() override { return next_->can_trim(); }
  bool can_zero() override { return next_->can_zero(); }
  bool can_write_zeroes() override { return next_->can_write_zeroes(); }
  bool can_fast_zero() override { return next_->can_fast_zero(); }
  bool can_extents() override { return next_->can_extents(); }
  FuaSupport can_fua() override { return next_->can_fua(); }
  bool can_multi_conn() override { return next_->can_multi_conn(); }
  CacheSupport can_cache() override { return next_->can_cache(); }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->pread(buf, count, offset, f);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->pwrite(buf, count, offset, f);
  }
  int flush(uint32_t f) override { return next_->flush(f); }
  int trim(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->trim(count, offset, f);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->zero(count, offset, f);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t f, ExtentList& out) override {
    return next_->extents(count, offset, f, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t f) override {
    return next_->cache(count, offset, f);
  }

 protected:
  Context& next() { return *next_; }
  // False after a reopen() that failed: the forwarding calls above must
  // not be used until a later reopen() succeeds.
  bool has_next() const { return next_ != nullptr; }
  // Closes the layer below and opens it again with the arguments of the
  // first open, for a filter that recovers from failures (retry).  Only
  // for contexts built with the OpenNext constructor.  Throws
  // nbdkit::Error when the open fails; the old context is closed anyway.
  // The caller must make sure no other call is using next() meanwhile.
  void reopen() { reopen(readonly_); }
  // The same, choosing read-only or read-write anew (retry-readonly).
  void reopen(bool readonly);

 private:
  std::unique_ptr<Context> next_;
  OpenNext open_next_;
  bool readonly_ = false;
  std::string exportname_;
};

namespace detail {
using FilterFactory = std::unique_ptr<Filter> (*)();
struct FilterRegistrar {
  FilterRegistrar(const char* name, FilterFactory make);
};
}  // namespace detail

}  // namespace nbdkit

// Register a built-in filter under its command-line name.
#define NBDKIT_REGISTER_FILTER(NAME, CLASS)                                    \
  static const ::nbdkit::detail::FilterRegistrar nbdkit_filter_registrar_{     \
      NAME, []() -> std::unique_ptr<::nbdkit::Filter> { return std::make_unique<CLASS>(); }}
