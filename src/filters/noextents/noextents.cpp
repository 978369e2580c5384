// nbdkit --filter=noextents: hides the layers' extents, so that clients
// see the whole disk as allocated data (nbdkit-noextents-filter(1)).
#include <nbdkit/plugin.hpp>

namespace {

class NoExtentsContext final : public nbdkit::FilterContext {
 public:
  using FilterContext::FilterContext;
  // The server then answers block status with one data extent.
  bool can_extents() override { return false; }
};

class NoExtentsFilter final : public nbdkit::Filter {
 public:
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<NoExtentsContext>(next(readonly, exportname));
  }
};

}  // namespace

NBDKIT_REGISTER_FILTER("noextents", NoExtentsFilter);
