// Runs one validated NBD request against a connection's Context and
// encodes the reply, emulating what the layer stack does not provide
// (FUA by flush, zeroing by writes, cache by reads, extents as all data).
#pragma once

#include <cstdint>

#include <nbdkit/plugin.hpp>

#include "conn_buffer.hpp"
#include "wire.hpp"

namespace nbdkit::server {

// How the export chosen by the client is served; fixed at NBD_OPT_GO.
struct ExportHandling {
  Context* context = nullptr;
  bool structured_replies = false;
  FuaSupport fua = FuaSupport::none;
  bool native_zero = false;
  CacheSupport cache = CacheSupport::none;
  bool extents = false;
};

// Executes `request` (which check_request() accepted; `payload` holds a
// WRITE's data) and appends the complete reply to `out`.  `scratch` is
// reusable memory for emulated cache reads.  Never throws.
void execute_request(const ExportHandling& handling, const nbd::Request& request,
                     const unsigned char* payload, ByteBuffer& out, ByteBuffer& scratch);

// Appends the reply refusing `request` with an NBD error value.
void append_error_reply(bool structured_replies, const nbd::Request& request,
                        uint32_t nbd_error, ByteBuffer& out);

}  // namespace nbdkit::server
