// nbdkit --filter=protect: write-protects byte ranges
// (nbdkit-protect-filter(1)).  Writes, zeroes and trims that would change
// the content of a protected range fail with EPERM; those that leave it
// as it is (writing the same bytes, zeroing zeroes) succeed.
#include <algorithm>
#include <cstring>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

struct Range {
  uint64_t first, last;  // inclusive
  std::string text;      // as given, for the error message
};

// "START-END", either bound optional, "~" in front for the complement.
void parse_protect(std::string_view value, std::vector<Range>& out) {
  const std::string text(value);
  const bool complement = !value.empty() && value.front() == '~';
  if (complement) value.remove_prefix(1);
  const size_t dash = value.find('-');
  if (dash == std::string_view::npos) throw nbdkit::Error("cannot parse range, missing '-': " + text);
  const std::string_view start = value.substr(0, dash), end = value.substr(dash + 1);
  const uint64_t first = start.empty() ? 0 : nbdkit::parse_uint64("protect", start);
  const uint64_t last = end.empty() ? UINT64_MAX : nbdkit::parse_uint64("protect", end);
  if (last < first) throw nbdkit::Error("invalid range, end < start: " + text);
  if (!complement) {
    out.push_back({first, last, text});
    return;
  }
  if (first > 0) out.push_back({0, first - 1, text});
  if (last < UINT64_MAX) out.push_back({last + 1, UINT64_MAX, text});
}

class ProtectContext final : public nbdkit::FilterContext {
 public:
  ProtectContext(std::unique_ptr<nbdkit::Context> next, const std::vector<Range>& ranges)
      : FilterContext(std::move(next)), ranges_(ranges) {}

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(static_cast<const unsigned char*>(buf), count, offset)) return err;
    return next().pwrite(buf, count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(nullptr, count, offset)) return err;
    return next().zero(count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(nullptr, count, offset)) return err;
    return next().trim(count, offset, flags);
  }

 private:
  // 0 when writing `data` (zeroes when null) over [offset, offset+count)
  // changes no protected byte, else EPERM.
  int check(const unsigned char* data, uint32_t count, uint64_t offset) {
    const uint64_t end = offset + count - 1;
    for (const Range& range : ranges_) {
      if (range.last < offset || range.first > end) continue;
      const uint64_t from = std::max(range.first, offset), to = std::min(range.last, end);
      const uint32_t length = static_cast<uint32_t>(to - from + 1);
      // Requests of one connection may run in parallel: no shared buffer.
      std::vector<unsigned char> now(length);
      if (const int err = next().pread(now.data(), length, from, 0)) return err;
      const bool unchanged =
          data ? std::memcmp(now.data(), data + (from - offset), length) == 0
               : std::all_of(now.begin(), now.end(), [](unsigned char b) { return b == 0; });
      if (!unchanged) {
        nbdkit::error("protect filter prevented write to protected range %s", range.text.c_str());
        return EPERM;
      }
    }
    return 0;
  }

  const std::vector<Range>& ranges_;
};

class ProtectFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "protect=<START>-<END>     Protect range of bytes START-END (inclusive).";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "protect") return false;
    parse_protect(value, ranges_);
    return true;
  }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<ProtectContext>(next(readonly, exportname), ranges_);
  }

 private:
  std::vector<Range> ranges_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("protect", ProtectFilter);
