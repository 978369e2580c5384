// nbdkit's command line, parsed with getopt_long so that option
// permutation (options after the plugin name), abbreviations of long
// options and `--` behave exactly as in nbdkit.
#include "cmdline.hpp"

#include <getopt.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <string>
#include <utility>

#include <nbdkit/plugin.hpp>

namespace nbdkit::server {

namespace {

// Values for long options without a short form.
enum LongOnly : int {
  opt_dump_config = 256,
  opt_dump_plugin,
  opt_exit_with_parent,
  opt_filter,
  opt_help,
  opt_keepalive,
  opt_log,
  opt_long_options,
  opt_mask_handshake,
  opt_name,
  opt_no_mc,
  opt_no_sr,
  opt_print_uri,
  opt_run,
  opt_selinux_label,
  opt_short_options,
  opt_swap,
  opt_timeout,
  opt_tls,
  opt_tls_certificates,
  opt_tls_priority,
  opt_tls_psk,
  opt_tls_verify_peer,
  opt_vsock,
};

// Leading ':' makes getopt report a missing argument as ':'.
constexpr const char short_options[] = ":46D:e:fg:i:nop:P:rst:u:U:vV";

constexpr option long_options[] = {
    {"debug", required_argument, nullptr, 'D'},
    {"dump-config", no_argument, nullptr, opt_dump_config},
    {"dump-plugin", no_argument, nullptr, opt_dump_plugin},
    {"exit-with-parent", no_argument, nullptr, opt_exit_with_parent},
    {"export", required_argument, nullptr, 'e'},
    {"export-name", required_argument, nullptr, 'e'},
    {"exportname", required_argument, nullptr, 'e'},
    {"filter", required_argument, nullptr, opt_filter},
    {"foreground", no_argument, nullptr, 'f'},
    {"no-fork", no_argument, nullptr, 'f'},
    {"group", required_argument, nullptr, 'g'},
    {"help", no_argument, nullptr, opt_help},
    {"ip-addr", required_argument, nullptr, 'i'},
    {"ipaddr", required_argument, nullptr, 'i'},
    {"ipv4-only", no_argument, nullptr, '4'},
    {"ipv6-only", no_argument, nullptr, '6'},
    {"keepalive", no_argument, nullptr, opt_keepalive},
    {"keep-alive", no_argument, nullptr, opt_keepalive},
    {"log", required_argument, nullptr, opt_log},
    {"long-options", no_argument, nullptr, opt_long_options},
    {"mask-handshake", required_argument, nullptr, opt_mask_handshake},
    {"name", required_argument, nullptr, opt_name},
    {"new-style", no_argument, nullptr, 'n'},
    {"newstyle", no_argument, nullptr, 'n'},
    {"no-mc", no_argument, nullptr, opt_no_mc},
    {"no-meta-contexts", no_argument, nullptr, opt_no_mc},
    {"no-sr", no_argument, nullptr, opt_no_sr},
    {"no-structured-replies", no_argument, nullptr, opt_no_sr},
    {"old-style", no_argument, nullptr, 'o'},
    {"oldstyle", no_argument, nullptr, 'o'},
    {"pid-file", required_argument, nullptr, 'P'},
    {"pidfile", required_argument, nullptr, 'P'},
    {"port", required_argument, nullptr, 'p'},
    {"print-uri", no_argument, nullptr, opt_print_uri},
    {"read-only", no_argument, nullptr, 'r'},
    {"readonly", no_argument, nullptr, 'r'},
    {"run", required_argument, nullptr, opt_run},
    {"selinux-label", required_argument, nullptr, opt_selinux_label},
    {"short-options", no_argument, nullptr, opt_short_options},
    {"single", no_argument, nullptr, 's'},
    {"stdin", no_argument, nullptr, 's'},
    {"swap", no_argument, nullptr, opt_swap},
    {"threads", required_argument, nullptr, 't'},
    {"timeout", required_argument, nullptr, opt_timeout},
    {"tls", required_argument, nullptr, opt_tls},
    {"tls-certificates", required_argument, nullptr, opt_tls_certificates},
    {"tls-priority", required_argument, nullptr, opt_tls_priority},
    {"tls-psk", required_argument, nullptr, opt_tls_psk},
    {"tls-verify-peer", no_argument, nullptr, opt_tls_verify_peer},
    {"unix", required_argument, nullptr, 'U'},
    {"user", required_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"vsock", no_argument, nullptr, opt_vsock},
    {nullptr, 0, nullptr, 0},
};

// For bash completion (nbdkit's undocumented --short-options and
// --long-options): one option per line, leaving out these two as nbdkit does.
std::string option_list(bool long_form) {
  std::string text;
  if (long_form) {
    for (const option* o = long_options; o->name; ++o)
      if (o->val != opt_short_options && o->val != opt_long_options)
        text += std::string("--") + o->name + '\n';
  } else {
    for (const char* c = short_options + 1; *c; ++c)
      if (*c != ':') text += std::string("-") + *c + '\n';
  }
  return text;
}

// Runs an API parser, turning its nbdkit::Error into a UsageError.
template <typename Parse>
auto checked(Parse&& parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

unsigned parse_unsigned(const char* option_name, std::string_view text) {
  const int64_t value = checked([&] { return parse_int(option_name, text); });
  if (value < 0 || value > UINT_MAX)
    throw UsageError(std::string(option_name) + ": " + std::string(text) +
                     " is not a number between 0 and " + std::to_string(UINT_MAX));
  return static_cast<unsigned>(value);
}

// -D NAME.FLAG=N.  NAME is a plugin, a filter or "nbdkit"; FLAG may itself
// contain dots (nbdkit.backend.datapath=0).
void add_debug_flag(Options& options, std::string_view text) {
  const auto equals = text.find('=');
  const auto dot = text.find('.');
  if (equals == std::string_view::npos || dot == std::string_view::npos || dot == 0 ||
      dot + 1 >= equals || equals + 1 == text.size())
    throw UsageError("-D (debug flag) must look like NAME.FLAG=N, not '" + std::string(text) +
                     "'");
  const std::string key(text.substr(0, equals));
  const int64_t value = checked([&] { return parse_int("-D " + key, text.substr(equals + 1)); });
  if (value < INT_MIN || value > INT_MAX)
    throw UsageError("-D " + key + ": value " + std::string(text.substr(equals + 1)) +
                     " is out of range");
  options.debug_flags[key] = static_cast<int>(value);
}

void set_log_target(Options& options, std::string_view text) {
  if (text == "default")
    options.log = LogTarget::default_;
  else if (text == "stderr")
    options.log = LogTarget::stderr_;
  else if (text == "syslog")
    options.log = LogTarget::syslog;
  else if (text == "null")
    options.log = LogTarget::null;
  else if (text.find('/') != std::string_view::npos) {
    options.log = LogTarget::file;
    options.log_file = checked([&] { return absolute_path(text); });
  } else {
    throw UsageError("--log must be default, stderr, syslog, null or a file path containing '/', not '" +
                     std::string(text) + "'");
  }
}

TlsPolicy parse_tls_policy(std::string_view text) {
  if (text == "require" || text == "required" || text == "force") return TlsPolicy::require;
  try {
    return parse_bool("--tls", text) ? TlsPolicy::on : TlsPolicy::off;
  } catch (const Error&) {
    throw UsageError("--tls must be off, on or require (or another boolean spelling), not '" +
                     std::string(text) + "'");
  }
}

// `key=value` only when the key looks like an identifier; anything else
// (a path with '=' in it, "=x", " x=1") is a bare value for the magic key.
bool is_config_key(std::string_view key) {
  if (key.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!alpha(key[0])) return false;
  for (char c : key.substr(1))
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::pair<std::string, std::string> split_plugin_arg(std::string_view word) {
  const auto equals = word.find('=');
  if (equals != std::string_view::npos && is_config_key(word.substr(0, equals)))
    return {std::string(word.substr(0, equals)), std::string(word.substr(equals + 1))};
  return {std::string(), std::string(word)};
}

[[noreturn]] void conflict(const char* a, const char* b) {
  throw UsageError(std::string(a) + " and " + b + " cannot be used in this combination");
}

void check_combinations(const Options& o) {
  const bool unix_socket = o.unix_socket.has_value();
  const bool port = o.port.has_value();
  const bool run = o.run.has_value();
  if (port && unix_socket) conflict("-p", "-U");
  if (port && o.single) conflict("-p", "-s");
  if (unix_socket && o.single) conflict("-U", "-s");
  if (o.single && run) conflict("-s", "--run");
  if (o.single && o.dump_plugin) conflict("-s", "--dump-plugin");
  if (o.vsock && unix_socket) conflict("--vsock", "-U");
  if (o.vsock && o.single) conflict("--vsock", "-s");
  if (o.oldstyle && o.tls.policy == TlsPolicy::require)
    throw UsageError("-o (oldstyle protocol) cannot be used with --tls=require: "
                     "oldstyle has no way to negotiate TLS");
}

}  // namespace

Options parse_command_line(int argc, char* const argv[]) {
  Options options;

  // getopt keeps state between calls; 0 makes GNU getopt start afresh.
  optind = 0;
  opterr = 0;
  for (;;) {
    const int c = getopt_long(argc, argv, short_options, long_options, nullptr);
    if (c == -1) break;
    const std::string_view arg = optarg ? optarg : "";
    switch (c) {
      case '4': options.family = AddressFamily::ipv4; break;
      case '6': options.family = AddressFamily::ipv6; break;
      case 'D': add_debug_flag(options, arg); break;
      case 'e': options.exportname = arg; break;
      case 'f': options.foreground = true; break;
      case 'g': options.group = arg; break;
      case 'i': options.ipaddr = arg; break;
      case 'n': break;  // newstyle is the default; kept for old scripts
      case 'o': options.oldstyle = true; break;
      case 'P': options.pidfile = checked([&] { return absolute_path(arg); }); break;
      case 'p':
        if (arg.empty()) throw UsageError("-p: the port must not be empty");
        options.port = arg;
        break;
      case 'r': options.readonly = true; break;
      case 's': options.single = true; break;
      case 't': {
        const unsigned threads = parse_unsigned("-t", arg);
        options.threads = threads == 0 ? Options{}.threads : threads;
        break;
      }
      case 'U':
        if (arg.empty()) throw UsageError("-U: the socket path must not be empty");
        options.unix_socket = arg == "-" ? std::string("-") : checked([&] { return absolute_path(arg); });
        break;
      case 'u': options.user = arg; break;
      case 'v': options.verbose = true; break;
      case 'V': options.show_version = true; break;
      case opt_dump_config: options.dump_config = true; break;
      case opt_dump_plugin: options.dump_plugin = true; break;
      case opt_exit_with_parent: options.exit_with_parent = true; break;
      case opt_filter:
        if (arg.empty()) throw UsageError("--filter: the filter name must not be empty");
        options.filters.emplace_back(arg);
        break;
      case opt_help: options.show_help = true; break;
      case opt_keepalive: options.keepalive = true; break;
      case opt_log: set_log_target(options, arg); break;
      case opt_long_options:
      case opt_short_options:
        // Only for shell completion scripts: print and stop right here.
        std::fputs(option_list(c == opt_long_options).c_str(), stdout);
        std::exit(EXIT_SUCCESS);
      case opt_mask_handshake:
        // Only the two defined global handshake flags can be masked.
        options.mask_handshake = static_cast<uint8_t>(parse_unsigned("--mask-handshake", arg) & 3);
        break;
      case opt_name:
        // nbdkit 1.46 accepts --name for callers such as virt-v2v; it names
        // the server instance and changes nothing we serve, so accept it.
        break;
      case opt_no_mc: options.no_meta_contexts = true; break;
      case opt_no_sr: options.no_structured_replies = true; break;
      case opt_print_uri: options.print_uri = true; break;
      case opt_run: options.run = arg; break;
      case opt_selinux_label: options.selinux_label = arg; break;
      case opt_swap: options.swap = true; break;
      case opt_timeout:
        options.timeout_ns = checked([&] { return parse_delay("--timeout", arg); });
        break;
      case opt_tls:
        options.tls.policy = parse_tls_policy(arg);
        options.tls.policy_set = true;
        break;
      case opt_tls_certificates:
        options.tls.certificates_dir = checked([&] { return absolute_path(arg); });
        break;
      case opt_tls_priority:
        options.tls.priority = arg;
        options.tls_priority = arg;
        break;
      case opt_tls_psk: options.tls.psk_file = checked([&] { return absolute_path(arg); }); break;
      case opt_tls_verify_peer: options.tls.verify_peer = true; break;
      case opt_vsock: options.vsock = true; break;
      case ':':
        throw UsageError(std::string("option '") + argv[optind - 1] + "' requires an argument");
      default:
        throw UsageError(std::string("unrecognized option '") + argv[optind - 1] +
                         "'; see 'nbdkit --help'");
    }
  }

  if (optind < argc) {
    options.plugin_name = argv[optind];
    for (int i = optind + 1; i < argc; ++i) options.plugin_args.push_back(split_plugin_arg(argv[i]));
  } else if (!options.show_help && !options.show_version && !options.dump_config) {
    throw UsageError(
        "no plugin given on the command line; use 'nbdkit --help' or read the nbdkit(1) "
        "manual page");
  }

  check_combinations(options);

  if (options.run || options.single || options.exit_with_parent) options.foreground = true;
  // Since nbdkit 1.36 a captive server listens on a private Unix socket
  // unless told to use TCP (-p or -i) or vsock.
  if (options.run && !options.port && !options.ipaddr && !options.vsock && !options.unix_socket)
    options.unix_socket = "-";
  return options;
}

void apply_magic_key(Options& options, const char* magic_key) {
  for (size_t i = 0; i < options.plugin_args.size(); ++i) {
    auto& [key, value] = options.plugin_args[i];
    if (!key.empty()) continue;
    if (magic_key) {
      key = magic_key;
    } else if (i == 0) {
      // Lets `#!/usr/sbin/nbdkit sh` scripts name themselves.
      key = "script";
    } else {
      throw UsageError("expecting key=value on the command line but got: " + value);
    }
  }
}

std::string usage_text() {
  return R"(Usage:
  nbdkit [OPTIONS] PLUGIN [[KEY=]VALUE ...]   serve PLUGIN over NBD
  nbdkit PLUGIN --help                        options and the plugin's parameters
  nbdkit PLUGIN --dump-plugin                 facts about PLUGIN as key=value lines
  nbdkit --dump-config                        facts about this build as key=value lines
  nbdkit -V|--version                         version (with PLUGIN: of every layer)

Where to listen (default: TCP port 10809 on every address):
  -p, --port PORT            TCP port number or service name
  -i, --ipaddr ADDR          listen on this address only
  -4, --ipv4-only            IPv4 only
  -6, --ipv6-only            IPv6 only
  -U, --unix SOCKET|-        Unix socket ('-': private socket in a temporary directory)
  -s, --single               serve one client on stdin/stdout, then exit
  --vsock                    AF_VSOCK on the -p port
  --keepalive                enable TCP keepalive on client sockets
  --selinux-label=LABEL      SELinux label of the listening socket

What to serve:
  --filter=FILTER            put FILTER in front of the plugin (repeatable; the first
                             one given is the one the client talks to)
  -r, --readonly             refuse writes
  -e, --exportname NAME      export name used in $uri/$exportname of --run
  -t, --threads N            requests in flight per connection (default 16)
  --timeout=DELAY            drop clients that do not finish the handshake in
                             time (default 60s; 0 for no limit)
  -o, --oldstyle             oldstyle handshake (-n, --newstyle: the default)
  --no-sr, --no-structured-replies    refuse structured replies
  --no-mc, --no-meta-contexts         refuse metadata contexts
  --mask-handshake=MASK      clear global handshake flags not in MASK

TLS:
  --tls=off|on|require       TLS policy (on: offered; require: mandatory)
  --tls-certificates=DIR     X.509 certificates directory
  --tls-psk=FILE             pre-shared keys file (username:hexkey lines)
  --tls-verify-peer          require a client certificate signed by the CA
  --tls-priority=PRIORITY    GnuTLS priority string

Process:
  --run 'COMMAND'            captive mode: run COMMAND with $uri etc., then exit
                             with its status (implies -f, and -U - unless -p/--vsock)
  --print-uri                print the URI to connect to
  -f, --foreground           do not fork into the background
  --exit-with-parent         exit when the parent process exits (implies -f)
  -P, --pidfile FILE         write the server's PID to FILE once ready
  -u, --user USER            run as USER after binding
  -g, --group GROUP          run as GROUP after binding
  --swap                     lock the process in memory
  --name=NAME                accepted for compatibility; no effect

Messages:
  -v, --verbose              debug messages to stderr
  -D, --debug NAME.FLAG=N    set a plugin's, filter's or nbdkit's debug flag
  --log=default|stderr|syslog|null|/path    where errors go

See nbdkit(1) for the details of each option, and nbdkit-PLUGIN-plugin(1)
for a plugin's parameters (man nbdkit-memory-plugin).
)";
}

}  // namespace nbdkit::server
