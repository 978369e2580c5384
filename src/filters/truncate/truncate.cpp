// nbdkit --filter=truncate: changes the size of the layer below, cutting
// it short or extending it with zeroes, or rounding it to a multiple
// (nbdkit-truncate-filter(1)).
#include <algorithm>
#include <cstring>
#include <optional>

#include <nbdkit/plugin.hpp>

namespace {

struct SizeRule {
  std::optional<uint64_t> truncate;
  uint64_t round_up = 0, round_down = 0;

  uint64_t apply(uint64_t size) const {
    if (truncate) size = *truncate;
    if (round_up) {
      const uint64_t rem = size % round_up;
      if (rem) {
        if (size > UINT64_MAX - (round_up - rem)) throw nbdkit::Error("truncate: rounded size is too large");
        size += round_up - rem;
      }
    }
    if (round_down) size -= size % round_down;
    if (size > static_cast<uint64_t>(INT64_MAX)) throw nbdkit::Error("truncate: size is too large");
    return size;
  }
};

// Past the end of the layer below the disk reads as zeroes, accepts
// zeroes and ignores trims; requests straddling the end are split.
class TruncateContext final : public nbdkit::FilterContext {
 public:
  TruncateContext(std::unique_ptr<nbdkit::Context> next, uint64_t size)
      : FilterContext(std::move(next)), size_(size), real_size_(this->next().get_size()) {}

  uint64_t get_size() override { return size_; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint32_t n = below(count, offset);
    std::memset(static_cast<char*>(buf) + n, 0, count - n);
    return n ? next().pread(buf, n, offset, flags) : 0;
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint32_t n = below(count, offset);
    const auto* tail = static_cast<const char*>(buf) + n;
    if (std::any_of(tail, tail + (count - n), [](char c) { return c != 0; })) {
      nbdkit::error("truncate: write beyond the end of the underlying disk must be zeroes");
      return ENOSPC;  // as nbdkit: there is no room for it
    }
    return n ? next().pwrite(buf, n, offset, flags) : 0;
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint32_t n = below(count, offset);
    return n ? next().trim(n, offset, flags) : 0;
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint32_t n = below(count, offset);
    return n ? next().zero(n, offset, flags) : 0;
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint32_t n = below(count, offset);
    return n ? next().cache(n, offset, flags) : 0;
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    const uint32_t n = below(count, offset);
    if (n) {
      nbdkit::ExtentList part(offset, offset + n);
      if (const int err = next().extents(n, offset, flags, part)) return err;
      for (const auto& e : part.extents())
        if (const int err = out.add(e.offset, e.length, e.type)) return err;
      // The layer below may stop early; the client asks again from there.
      if (!part.complete()) return 0;
    }
    return out.add(offset + n, count - n, nbdkit::extent::hole | nbdkit::extent::zero);
  }

 private:
  // How much of [offset, offset + count) lies within the layer below.
  uint32_t below(uint32_t count, uint64_t offset) const {
    if (offset >= real_size_) return 0;
    return static_cast<uint32_t>(std::min<uint64_t>(count, real_size_ - offset));
  }

  uint64_t size_, real_size_;
};

uint64_t parse_multiple(std::string_view key, std::string_view value) {
  const uint64_t n = nbdkit::parse_size(key, value);
  if (n == 0 || (n & (n - 1)) != 0)
    throw nbdkit::Error(std::string(key) + " must be a power of 2");
  return n;
}

class TruncateFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "truncate=<SIZE>              The new size.\n"
           "round-up=<N>                 Round up to next multiple of N.\n"
           "round-down=<N>               Round down to multiple of N.";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "truncate")
      rule_.truncate = nbdkit::parse_size(key, value);
    else if (key == "round-up")
      rule_.round_up = parse_multiple(key, value);
    else if (key == "round-down")
      rule_.round_down = parse_multiple(key, value);
    else
      return false;
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const uint64_t size = rule_.apply(below->get_size());
    return std::make_unique<TruncateContext>(std::move(below), size);
  }

 private:
  SizeRule rule_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("truncate", TruncateFilter);
