// The request stream of the transmission phase, after a fixed handshake
// that negotiates structured replies and base:allocation on a 1 MiB
// memory export.
#include "fuzz_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> handshake = fuzz::handshake_to_transmission();
  fuzz::serve_connection_from(handshake, {data, size});
  return 0;
}
