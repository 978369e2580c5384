// One client connection to a C plugin: capabilities inferred from which
// callbacks exist (nbdkit-plugin(3) gives the rules), and the data calls
// with their flags translated and their failures turned into errno values.
#include <cerrno>
#include <algorithm>
#include <mutex>

#include "abi.hpp"
#include "c_plugin.hpp"

namespace nbdkit::cplugin {

namespace {

// Our flag bits differ from the C ABI's.
uint32_t c_flags(uint32_t ours) {
  uint32_t c = 0;
  if (ours & flags::fua) c |= NBDKIT_FLAG_FUA;
  if (ours & flags::may_trim) c |= NBDKIT_FLAG_MAY_TRIM;
  if (ours & flags::req_one) c |= NBDKIT_FLAG_REQ_ONE;
  if (ours & flags::fast_zero) c |= NBDKIT_FLAG_FAST_ZERO;
  return c;
}

class CContext final : public Context {
 public:
  CContext(CPlugin& plugin, void* handle)
      : plugin_(plugin), p_(plugin.abi()), h_(handle), v2_(plugin.v2()) {}

  ~CContext() override {
    if (!p_.close) return;
    std::unique_lock lock(plugin_.serialize_mutex(), std::defer_lock);
    if (plugin_.serializes_all()) lock.lock();
    p_.close(h_);
  }

  uint64_t get_size() override {
    return uint64_t(checked_call(
        what("get_size"), [&] { return p_.get_size(h_); }, [](int64_t r) { return r < 0; }));
  }

  std::optional<BlockSize> block_size() override {
    if (!p_.block_size) return std::nullopt;
    uint32_t minimum = 0, preferred = 0, maximum = 0;
    checked_call(what("block_size"),
                 [&] { return p_.block_size(h_, &minimum, &preferred, &maximum); }, minus_one);
    if (minimum == 0 && preferred == 0 && maximum == 0) return std::nullopt;
    return BlockSize{minimum, preferred, maximum};
  }

  std::string export_description() override {
    if (!p_.export_description) return {};
    ErrorCapture capture;
    const char* text = p_.export_description(h_);
    return text ? text : "";
  }

  bool can_write() override { return ask("can_write", p_.can_write, has_pwrite()); }
  bool can_flush() override { return ask("can_flush", p_.can_flush, has_flush()); }
  bool is_rotational() override { return ask("is_rotational", p_.is_rotational, false); }
  bool can_trim() override { return ask("can_trim", p_.can_trim, has_trim()); }
  bool can_zero() override { return ask("can_zero", p_.can_zero, has_zero()); }
  // The server already refuses fast zeroes when it emulates zeroing; a
  // plugin's own .zero honours the flag only if it says so (and only the
  // version 2 .zero can see the flag).
  bool can_fast_zero() override { return v2_ && ask("can_fast_zero", p_.can_fast_zero, false); }
  bool can_extents() override { return ask("can_extents", p_.can_extents, bool(p_.extents)); }
  bool can_multi_conn() override { return ask("can_multi_conn", p_.can_multi_conn, false); }

  FuaSupport can_fua() override {
    const int fallback = has_flush() ? NBDKIT_FUA_EMULATE : NBDKIT_FUA_NONE;
    int r = p_.can_fua ? query("can_fua", p_.can_fua) : fallback;
    if (!v2_ && r > NBDKIT_FUA_EMULATE) r = NBDKIT_FUA_EMULATE;  // no flags in version 1
    return static_cast<FuaSupport>(std::clamp(r, 0, 2));
  }

  CacheSupport can_cache() override {
    const int fallback = p_.cache ? NBDKIT_CACHE_NATIVE : NBDKIT_CACHE_NONE;
    const int r = p_.can_cache ? query("can_cache", p_.can_cache) : fallback;
    return static_cast<CacheSupport>(std::clamp(r, 0, 2));
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    clear_set_error();
    return result(v2_ ? p_.pread(h_, buf, count, offset, 0)
                      : p_._pread_v1(h_, buf, count, offset));
  }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    clear_set_error();
    return result(v2_ ? p_.pwrite(h_, buf, count, offset, c_flags(flags))
                      : p_._pwrite_v1(h_, buf, count, offset));
  }

  int flush(uint32_t) override {
    if (!has_flush()) return EINVAL;
    clear_set_error();
    return result(v2_ ? p_.flush(h_, 0) : p_._flush_v1(h_));
  }

  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (!has_trim()) return EINVAL;
    clear_set_error();
    return result(v2_ ? p_.trim(h_, count, offset, c_flags(flags))
                      : p_._trim_v1(h_, count, offset));
  }

  // ENOTSUP/EOPNOTSUPP make the server fall back to writing zeroes.
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (!has_zero()) return ENOTSUP;
    clear_set_error();
    if (v2_) return result(p_.zero(h_, count, offset, c_flags(flags)));
    if (flags & flags::fast_zero) return ENOTSUP;
    return result(p_._zero_v1(h_, count, offset, (flags & flags::may_trim) != 0));
  }

  int extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out) override {
    nbdkit_extents list(out);
    clear_set_error();
    if (int r = result(p_.extents(h_, count, offset, c_flags(flags), &list))) return r;
    if (out.next_offset() <= offset) {
      error("%s: extents: the plugin returned no extent at offset %llu", plugin_.name().c_str(),
            static_cast<unsigned long long>(offset));
      return EINVAL;
    }
    return 0;
  }

  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (!p_.cache) return 0;  // NBDKIT_CACHE_NATIVE without .cache: nothing to do
    clear_set_error();
    return result(p_.cache(h_, count, offset, c_flags(flags)));
  }

 private:
  std::string what(const char* callback) const { return plugin_.name() + ": " + callback; }

  int query(const char* callback, int (*fn)(void*)) {
    return checked_call(what(callback), [&] { return fn(h_); }, minus_one);
  }
  bool ask(const char* callback, int (*fn)(void*), bool fallback) {
    return fn ? query(callback, fn) != 0 : fallback;
  }

  // A data callback's return value as 0 or an errno value: the plugin's
  // nbdkit_set_error(), else errno if the plugin keeps it meaningful,
  // else EIO.
  int result(int r) const {
    if (r != -1) return 0;
    const int saved_errno = errno;
    int err = take_set_error();
    if (err == 0 && p_.errno_is_preserved) err = saved_errno;
    return err > 0 ? err : EIO;
  }

  bool has_pwrite() const { return v2_ ? bool(p_.pwrite) : bool(p_._pwrite_v1); }
  bool has_flush() const { return v2_ ? bool(p_.flush) : bool(p_._flush_v1); }
  bool has_trim() const { return v2_ ? bool(p_.trim) : bool(p_._trim_v1); }
  bool has_zero() const { return v2_ ? bool(p_.zero) : bool(p_._zero_v1); }

  CPlugin& plugin_;
  const nbdkit_plugin& p_;
  void* h_;
  const bool v2_;
};

}  // namespace

std::unique_ptr<Context> make_context(CPlugin& plugin, void* handle) {
  return std::make_unique<CContext>(plugin, handle);
}

}  // namespace nbdkit::cplugin
