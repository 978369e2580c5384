// nbdkit --filter=fua: changes how Forced Unit Access is offered and
// handled (nbdkit-fua-filter(1)): none (default) hides it, emulate has
// the server flush after the write, native passes the flag down, force
// adds it to every write and makes flushes no-ops, discard drops it and
// flushes, pass changes nothing.
#include "../common/choice.hpp"

namespace {

using nbdkit::FuaSupport;

enum class FuaMode { none, emulate, native, force, pass, discard };

const char* name_of(FuaMode mode) {
  switch (mode) {
    case FuaMode::emulate: return "emulate";
    case FuaMode::native: return "native";
    case FuaMode::force: return "force";
    default: return "?";
  }
}

class FuaContext final : public nbdkit::FilterContext {
 public:
  FuaContext(std::unique_ptr<nbdkit::Context> next, FuaMode mode, FuaSupport below)
      : FilterContext(std::move(next)), mode_(mode), below_(below) {}

  FuaSupport can_fua() override {
    switch (mode_) {
      case FuaMode::none: return FuaSupport::none;
      case FuaMode::emulate: return FuaSupport::emulate;
      case FuaMode::pass: return below_;
      default: return FuaSupport::native;
    }
  }
  int flush(uint32_t flags) override {
    if (mode_ == FuaMode::force || mode_ == FuaMode::discard) return 0;
    return next().flush(flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return with_fua(flags, [&](uint32_t f) { return next().pwrite(buf, count, offset, f); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return with_fua(flags, [&](uint32_t f) { return next().zero(count, offset, f); });
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return with_fua(flags, [&](uint32_t f) { return next().trim(count, offset, f); });
  }

 private:
  // Runs the write with the FUA flag this mode wants, emulating it with a
  // flush when the layer below only supports it that way.
  template <typename Write>
  int with_fua(uint32_t flags, Write&& write) {
    if (mode_ == FuaMode::force) flags |= nbdkit::flags::fua;
    if (mode_ == FuaMode::discard) flags &= ~nbdkit::flags::fua;
    if (!(flags & nbdkit::flags::fua) || below_ == FuaSupport::native) return write(flags);
    if (const int err = write(flags & ~nbdkit::flags::fua)) return err;
    return next().flush(0);
  }

  FuaMode mode_;
  FuaSupport below_;
};

class FuaFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "fuamode=<MODE>       One of 'none' (default), 'emulate', 'native',\n"
           "                       'force', 'pass', 'discard'.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "fuamode") return false;
    mode_ = nbdkit::filters::parse_choice<FuaMode>(
        key, value,
        {{"none", FuaMode::none}, {"emulate", FuaMode::emulate}, {"native", FuaMode::native},
         {"force", FuaMode::force}, {"pass", FuaMode::pass}, {"discard", FuaMode::discard}});
    return true;
  }
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const FuaSupport fua = below->can_write() ? below->can_fua() : FuaSupport::none;
    // Like nbdkit, a mode that relies on flush or FUA below refuses a
    // writable connection to a layer without them.
    if (!readonly && below->can_write()) {
      if (mode_ == FuaMode::emulate && !below->can_flush())
        throw nbdkit::Error("fuamode 'emulate' requires plugin flush support");
      if ((mode_ == FuaMode::native || mode_ == FuaMode::force) && fua == FuaSupport::none)
        throw nbdkit::Error(std::string("fuamode '") + name_of(mode_) +
                            "' requires plugin fua support");
    }
    return std::make_unique<FuaContext>(std::move(below), mode_, fua);
  }

 private:
  FuaMode mode_ = FuaMode::none;
};

}  // namespace

NBDKIT_REGISTER_FILTER("fua", FuaFilter);
