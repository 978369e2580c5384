// The parsers of command-line and plugin parameter values: sizes, delays,
// integers and booleans.  Bad text must throw nbdkit::Error, nothing else.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nbdkit/plugin.hpp>

namespace {

template <typename Parse>
void parse_or_refuse(Parse parse) {
  try {
    parse();
  } catch (const nbdkit::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parse_or_refuse([&] { return nbdkit::parse_size("size", text); });
  parse_or_refuse([&] { return nbdkit::parse_delay("delay", text); });
  parse_or_refuse([&] { return nbdkit::parse_int("number", text); });
  parse_or_refuse([&] { return nbdkit::parse_bool("flag", text); });
  return 0;
}
