// Services the server provides to plugins and filters: messages, the
// control-path error type, nbdkit's parsers, an interruptible sleep and a
// view of the connection being served.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nbdkit/context.hpp>

namespace nbdkit {

// Thrown from control-path calls.  `err` is the errno value sent to a
// client when the failure happens while one is connected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int err = EINVAL)
      : std::runtime_error(message), errno_value(err) {}
  int errno_value;
};

// Messages: debug() prints only with -v; error() goes to the --log target.
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void verror(const char* fmt, va_list args);
void vdebug(const char* fmt, va_list args);

// Value of `-D LAYER.FLAG=N`, or 0 when not given.  Declare each flag a
// layer reads with NBDKIT_DEBUG_FLAG (below): the server warns about -D
// flags that nothing declares.
int debug_flag(std::string_view layer, std::string_view flag);
// True when debug() prints (-v): lets a layer skip work done only for a
// debug message, or choose debug lines over a terminal progress line.
bool debug_enabled();

// nbdkit's parsers; they throw nbdkit::Error naming `what` on bad input.
// Sizes: decimal with an optional b/k/m/g/t/p/e (powers of 1024) or s (512).
uint64_t parse_size(std::string_view what, std::string_view text);
bool parse_bool(std::string_view what, std::string_view text);
// Delays: seconds with an optional fraction and s/ms/us/ns suffix; result in ns.
uint64_t parse_delay(std::string_view what, std::string_view text);
int64_t parse_int(std::string_view what, std::string_view text);
// Integers of each width (decimal, 0x hex or 0 octal), refusing values the
// type cannot hold; the unsigned ones refuse a minus sign.
int8_t parse_int8(std::string_view what, std::string_view text);
int16_t parse_int16(std::string_view what, std::string_view text);
int32_t parse_int32(std::string_view what, std::string_view text);
int64_t parse_int64(std::string_view what, std::string_view text);
uint8_t parse_uint8(std::string_view what, std::string_view text);
uint16_t parse_uint16(std::string_view what, std::string_view text);
uint32_t parse_uint32(std::string_view what, std::string_view text);
uint64_t parse_uint64(std::string_view what, std::string_view text);
// A probability as a non-negative number: `0.1`, `10%`, `1:10` or `1/10`
// (the latter two mean 1 in 10).  Callers that need at most 1 check it.
double parse_probability(std::string_view what, std::string_view text);

// Relative to the directory nbdkit was started in (the server may chdir).
std::string absolute_path(std::string_view path);

// Ask the server to stop accepting connections and exit once current
// clients are gone (graceful), with the given exit status.
void shutdown(int exit_status = 0);
bool shutdown_requested();

// The thread model the server settled on (the minimum over every layer);
// known from get_ready on.
ThreadModel server_thread_model();

// Sleeps for `ns` nanoseconds.  Returns 0 after the full sleep, or
// ESHUTDOWN as soon as the server is shutting down or the client of the
// calling thread's connection has disconnected: there is then no point in
// finishing the request.
int nanosleep(uint64_t ns);

// What the server knows about the client a thread is serving.
struct ConnectionInfo {
  // Empty until the client has chosen an export (and for the default one).
  std::string export_name;
  bool tls = false;
  // The peer's socket address; peer_length is 0 when it is unknown.
  sockaddr_storage peer{};
  socklen_t peer_length = 0;
  // Credentials of the process at the other end of a Unix socket.
  std::optional<uid_t> peer_uid;
  std::optional<gid_t> peer_gid;
  std::optional<pid_t> peer_pid;
  // The peer's security label (SO_PEERSEC), empty when it has none.
  std::string security_context;
};

// The connection served by the calling thread, from preconnect to close,
// in every layer's calls; nullptr outside a connection (configuration,
// start-up).
const ConnectionInfo* current_connection();

namespace detail {
struct DebugFlagRegistrar {
  DebugFlagRegistrar(const char* layer, const char* flag);
};
}  // namespace detail

}  // namespace nbdkit

// Declares, at namespace scope, that a layer reads `-D LAYER.FLAG=N`.
#define NBDKIT_DEBUG_FLAG_NAME_(LINE) nbdkit_debug_flag_registrar_##LINE
#define NBDKIT_DEBUG_FLAG_NAME(LINE) NBDKIT_DEBUG_FLAG_NAME_(LINE)
#define NBDKIT_DEBUG_FLAG(LAYER, FLAG)                                   \
  [[maybe_unused]] static const ::nbdkit::detail::DebugFlagRegistrar    \
      NBDKIT_DEBUG_FLAG_NAME(__LINE__){LAYER, FLAG}
