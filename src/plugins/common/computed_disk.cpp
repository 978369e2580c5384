#include "computed_disk.hpp"

#include <string>

namespace plugins_common {

void SizedPlugin::config(std::string_view key, std::string_view value) {
  if (key == "size") {
    size_ = nbdkit::parse_size("size", value);
    size_given_ = true;
  } else if (!config_other(key, value)) {
    nbdkit::Plugin::config(key, value);  // throws: unknown parameter
  }
}

uint32_t parse_seed(std::string_view value) { return nbdkit::parse_uint32("seed", value); }

}  // namespace plugins_common
