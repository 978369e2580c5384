// Shared by the fuzz targets that drive a whole connection: a server
// context over the built-in memory plugin, and a way to play bytes to
// serve_connection() as a client would send them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fuzz {

// Serves one connection whose client sends `prefix` then `input` and then
// closes its side; replies are read and dropped.  Returns when the server
// is done with the connection.
void serve_connection_from(std::span<const uint8_t> prefix, std::span<const uint8_t> input);

// The client's side of a handshake that reaches transmission with
// structured replies and base:allocation selected.
std::vector<uint8_t> handshake_to_transmission();

}  // namespace fuzz
