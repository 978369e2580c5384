// nbdkit --filter=offset: serves the byte range [offset, offset+range) of
// the layer below (nbdkit-offset-filter(1)).
#include <optional>

#include <nbdkit/plugin.hpp>

#include "../common/range_context.hpp"

namespace {

class OffsetFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "offset=<OFFSET>     The start offset to serve (default 0).\n"
           "range=<LENGTH>      The total size to serve (default: rest of file).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "offset")
      offset_ = nbdkit::parse_size(key, value);
    else if (key == "range")
      range_ = nbdkit::parse_size(key, value);
    else
      return false;
    return true;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const uint64_t size = below->get_size();
    nbdkit::filters::check_range("offset", offset_, 0, size);
    const uint64_t length = range_.value_or(size - offset_);
    nbdkit::filters::check_range("offset", offset_, length, size);
    return std::make_unique<nbdkit::filters::RangeContext>(std::move(below), offset_, length);
  }

 private:
  uint64_t offset_ = 0;
  std::optional<uint64_t> range_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("offset", OffsetFilter);
