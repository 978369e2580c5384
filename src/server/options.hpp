// The parsed command line: everything the rest of the server needs to know
// about how it was started.  Filled by parse_command_line() (cmdline.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tls.hpp"

namespace nbdkit::server {

enum class LogTarget { default_, stderr_, syslog, null, file };
enum class AddressFamily { any, ipv4, ipv6 };

struct Options {
  // PLUGIN and its [KEY=]VALUE arguments, in command-line order.  A bare
  // VALUE has an empty key until apply_magic_key() (cmdline.hpp) fills it.
  std::string plugin_name;
  std::vector<std::pair<std::string, std::string>> plugin_args;
  std::vector<std::string> filters;  // first = closest to the client

  bool foreground = false;   // -f (also implied by --run, -s, ...)
  bool readonly = false;     // -r
  bool oldstyle = false;     // -o
  bool single = false;       // -s
  bool verbose = false;      // -v
  bool print_uri = false;    // --print-uri
  bool exit_with_parent = false;
  bool keepalive = false;
  bool no_structured_replies = false;  // --no-sr
  bool no_meta_contexts = false;       // --no-mc
  bool swap = false;
  bool vsock = false;
  bool dump_config = false;
  bool dump_plugin = false;
  bool show_help = false;
  bool show_version = false;

  std::optional<std::string> port;        // -p (number or service name)
  std::optional<std::string> ipaddr;      // -i
  AddressFamily family = AddressFamily::any;
  std::optional<std::string> unix_socket; // -U (absolute), "-" for private
  std::string exportname;                 // -e
  std::optional<std::string> pidfile;     // -P (absolute)
  std::optional<std::string> run;         // --run
  std::optional<std::string> user, group; // -u, -g
  std::optional<std::string> selinux_label;
  unsigned threads = 16;                  // -t (0 means the default)
  // --timeout: how long a client may take to negotiate; 0 = no limit.
  uint64_t timeout_ns = 60'000'000'000ull;
  uint8_t mask_handshake = 3;             // --mask-handshake
  LogTarget log = LogTarget::default_;
  std::string log_file;
  std::map<std::string, int> debug_flags;  // -D NAME.FLAG=N, keyed "NAME.FLAG"

  TlsSettings tls;
  std::string tls_priority;

  bool socket_activation = false;  // LISTEN_PID/LISTEN_FDS present and ours
  int listen_fds = 0;
};

}  // namespace nbdkit::server
