// nbdkit --filter=swab: reverses the bytes of each 2, 4 or 8-byte word
// of the layer below (nbdkit-swab-filter(1)).  Requests must be aligned
// to the word size; the disk is cut down to a whole number of words.
#include <algorithm>
#include <cstring>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

// Reverses each `word`-byte group of `n` bytes from `in` into `out`
// (which may be the same buffer).
void swap_words(const char* in, char* out, size_t n, uint32_t word) {
  for (size_t i = 0; i < n; i += word)
    switch (word) {
      case 2: { uint16_t v; std::memcpy(&v, in + i, 2); v = __builtin_bswap16(v); std::memcpy(out + i, &v, 2); break; }
      case 4: { uint32_t v; std::memcpy(&v, in + i, 4); v = __builtin_bswap32(v); std::memcpy(out + i, &v, 4); break; }
      default: { uint64_t v; std::memcpy(&v, in + i, 8); v = __builtin_bswap64(v); std::memcpy(out + i, &v, 8); break; }
    }
}

class SwabContext final : public nbdkit::FilterContext {
 public:
  SwabContext(std::unique_ptr<nbdkit::Context> next, uint32_t word)
      : FilterContext(std::move(next)), word_(word) {}

  uint64_t get_size() override { return next().get_size() / word_ * word_; }
  std::optional<nbdkit::BlockSize> block_size() override {
    nbdkit::BlockSize b = next().block_size().value_or(nbdkit::BlockSize{});
    b.minimum = std::max(b.minimum, word_);
    b.preferred = std::max(b.preferred, b.minimum);
    return b;
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(count, offset)) return err;
    if (const int err = next().pread(buf, count, offset, flags)) return err;
    swap_words(static_cast<char*>(buf), static_cast<char*>(buf), count, word_);
    return 0;
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(count, offset)) return err;
    std::vector<char> swapped(count);
    swap_words(static_cast<const char*>(buf), swapped.data(), count, word_);
    return next().pwrite(swapped.data(), count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(count, offset)) return err;
    return next().trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(count, offset)) return err;
    return next().zero(count, offset, flags);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) override {
    if (const int err = check(count, offset)) return err;
    return next().extents(count, offset, flags, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = check(count, offset)) return err;
    return next().cache(count, offset, flags);
  }

 private:
  int check(uint32_t count, uint64_t offset) const {
    if ((count | offset) % word_ == 0) return 0;
    nbdkit::error("swab: request (offset %llu, count %u) is not aligned to %u bytes",
                  static_cast<unsigned long long>(offset), count, word_);
    return EINVAL;
  }

  uint32_t word_;
};

class SwabFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "swab-bits=8|16|32|64   Size of the words to swap (default 16).";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "swab-bits") return false;
    const uint32_t bits = nbdkit::parse_uint32(key, value);
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
      throw nbdkit::Error("swab-bits must be 8, 16, 32 or 64");
    word_ = bits / 8;
    return true;
  }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    if (word_ == 1) return below;  // swab-bits=8 turns the filter off
    return std::make_unique<SwabContext>(std::move(below), word_);
  }

 private:
  uint32_t word_ = 2;
};

}  // namespace

NBDKIT_REGISTER_FILTER("swab", SwabFilter);
