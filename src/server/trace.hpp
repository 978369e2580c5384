// The -v trace of what each layer is asked to do, in nbdkit's form: one
// line per call and layer ("delay: pread count=512 offset=4096", then
// "memory: pread ..."), under the connection's prefix ("memory[1]").
//
// Tracing costs nothing when off: a layer's context is wrapped in a tracing
// one only when a connection opens it with tracing on, so the request path
// of an untraced connection is exactly that of a build without tracing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include <nbdkit/plugin.hpp>

namespace nbdkit::server {

// What -v traces, less what -D nbdkit.backend.controlpath=0 (open, close,
// get_size, can_*, ...) and -D nbdkit.backend.datapath=0 (pread, pwrite,
// ...) turn off.
struct TraceSettings {
  bool control = false;
  bool data = false;
};
TraceSettings trace_settings();

// The line for a layer being opened, before it opens the layers below.
void trace_open(const TraceSettings& trace, const std::string& layer, bool readonly,
                std::string_view exportname, bool is_tls);

// `context` as is when nothing is traced, or wrapped so that each call is
// logged under `layer`'s name before it is passed on.
std::unique_ptr<Context> traced(const TraceSettings& trace, const std::string& layer,
                                std::unique_ptr<Context> context);

// A socket address for messages: "127.0.0.1 port 10809", "[::1] port
// 10809", "unix socket /run/nbd.sock", "vsock cid 3 port 10809".
std::string describe_address(const sockaddr_storage& address, socklen_t length);

// The client, for the accepted/closed lines: its address, with the pid and
// uid of a Unix socket's peer, or "stdin" when there is no socket (-s).
std::string describe_peer(const ConnectionInfo& info);

}  // namespace nbdkit::server
