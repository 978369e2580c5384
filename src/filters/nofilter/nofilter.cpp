// nbdkit --filter=nofilter: passes every call through unchanged
// (nbdkit-nofilter-filter(1)); for testing the filter machinery.
#include <nbdkit/plugin.hpp>

namespace {

class NoFilter final : public nbdkit::Filter {
 public:
  // Adds nothing that could block.
  bool data_calls_are_nonblocking() const override { return true; }
};

}  // namespace

NBDKIT_REGISTER_FILTER("nofilter", NoFilter);
