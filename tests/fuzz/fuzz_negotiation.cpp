// The handshake and option phase: everything a client can send before it
// has chosen an export (and before TLS has authenticated it).
#include "fuzz_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::serve_connection_from({}, {data, size});
  return 0;
}
