// nbdkit --filter=nozero: takes away efficient zeroing
// (nbdkit-nozero-filter(1)).  zeromode=none (default) hides
// NBD_CMD_WRITE_ZEROES, emulate writes zeroes with pwrite, notrim drops
// the may-trim flag, plugin passes zero requests on; fastzeromode= then
// decides whether fast zeroes are advertised and how they are answered.
#include "../common/choice.hpp"
#include "../common/zero_writes.hpp"

namespace {

enum class ZeroMode { none, emulate, notrim, plugin };
enum class FastZeroMode { default_, none, slow, ignore };

struct Modes {
  ZeroMode zero = ZeroMode::none;
  FastZeroMode fast = FastZeroMode::default_;
};

class NoZeroContext final : public nbdkit::FilterContext {
 public:
  NoZeroContext(std::unique_ptr<nbdkit::Context> next, Modes modes)
      : FilterContext(std::move(next)), modes_(modes) {}

  bool can_write_zeroes() override {
    return modes_.zero != ZeroMode::none && next().can_write_zeroes();
  }
  // Emulation happens here, so the server sees native zeroing.
  bool can_zero() override { return modes_.zero == ZeroMode::emulate || next().can_zero(); }
  bool can_fast_zero() override {
    switch (modes_.fast) {
      case FastZeroMode::none: return false;
      case FastZeroMode::slow:
      case FastZeroMode::ignore: return true;
      case FastZeroMode::default_: break;
    }
    // Emulated zeroing is never fast, so it can refuse fast zeroes at once.
    return modes_.zero == ZeroMode::emulate || next().can_fast_zero();
  }

  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (flags & nbdkit::flags::fast_zero) {
      // Emulated zeroing is never fast, whatever fastzeromode says.
      if (modes_.fast == FastZeroMode::slow || modes_.zero == ZeroMode::emulate) return ENOTSUP;
      if (modes_.fast == FastZeroMode::ignore) flags &= ~nbdkit::flags::fast_zero;
    }
    if (modes_.zero == ZeroMode::emulate)
      return nbdkit::filters::write_zeroes(next(), count, offset, flags & nbdkit::flags::fua);
    if (modes_.zero == ZeroMode::notrim) flags &= ~nbdkit::flags::may_trim;
    return next().zero(count, offset, flags);
  }

 private:
  Modes modes_;
};

class NoZeroFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "zeromode=<MODE>      One of 'none' (default), 'emulate', 'notrim', 'plugin'.\n"
           "fastzeromode=<MODE>  One of 'default', 'none', 'slow', 'ignore'.";
  }
  bool config(std::string_view key, std::string_view value) override {
    using nbdkit::filters::parse_choice;
    if (key == "zeromode") {
      modes_.zero = parse_choice<ZeroMode>(key, value,
                                           {{"none", ZeroMode::none},
                                            {"emulate", ZeroMode::emulate},
                                            {"notrim", ZeroMode::notrim},
                                            {"plugin", ZeroMode::plugin}});
      return true;
    }
    if (key == "fastzeromode") {
      modes_.fast = parse_choice<FastZeroMode>(key, value,
                                               {{"default", FastZeroMode::default_},
                                                {"none", FastZeroMode::none},
                                                {"slow", FastZeroMode::slow},
                                                {"ignore", FastZeroMode::ignore}});
      return true;
    }
    return false;
  }
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const bool passes_zeroes = modes_.zero == ZeroMode::notrim || modes_.zero == ZeroMode::plugin;
    if (passes_zeroes && !readonly && below->can_write() && !below->can_zero())
      throw nbdkit::Error(std::string("zeromode '") +
                          (modes_.zero == ZeroMode::notrim ? "notrim" : "plugin") +
                          "' requires plugin zero support");
    return std::make_unique<NoZeroContext>(std::move(below), modes_);
  }

 private:
  Modes modes_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("nozero", NoZeroFilter);
