// nbdkit's main(): start-up in nbdkit's order, then serve until shutdown.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nbdkit/plugin.hpp>

#include "backend.hpp"
#include "captive.hpp"
#include "cmdline.hpp"
#include "connection.hpp"
#include "lifecycle.hpp"
#include "listen.hpp"
#include "log.hpp"
#include "options.hpp"
#include "tls.hpp"
#include "uri.hpp"
#include "version.hpp"

namespace nbdkit::server {
namespace {

bool stdio_is_open() {
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
    if (::fcntl(fd, F_GETFL) == -1) return false;
  return true;
}

std::string binary_path() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("nbdkit") : path.string();
}

// Key=value facts about this build, sorted by key as nbdkit prints them.
void dump_config() {
  const std::string binary = binary_path();
  const std::string bindir = std::filesystem::path(binary).parent_path().string();
  struct utsname host {};
  ::uname(&host);
  const std::string version = server_version();
  const auto major_end = version.find('.');
  const auto minor_end = version.find('.', major_end + 1);

  // Directories are the installed layout this build was configured for
  // (CMake's install prefix), as nbdkit reports them, wherever it runs from.
  std::cout << "binary=" << binary << '\n'
            << "bindir=" << bindir << '\n'
            << "exit_with_parent=yes\n"
            << "filterdir=" NBDKIT_FILTERDIR "\n"
            << "host_cpu=" << host.machine << '\n'
            << "host_os=linux-gnu\n"
            << "libdir=" NBDKIT_LIBDIR "\n"
            << "mandir=" NBDKIT_MANDIR "\n"
            << "max_api_version=2\n"
            << "name=nbdkit\n"
            << "plugindir=" NBDKIT_PLUGINDIR "\n"
            << "root_tls_certificates_dir=/etc/pki/nbdkit\n"
            << "run_default_socket=Unix\n"
            << "sbindir=" NBDKIT_SBINDIR "\n"
            << "selinux=no\n"
            << "soext=so\n"
            << "sysconfdir=" NBDKIT_SYSCONFDIR "\n"
            << "timeout_option=yes\n"
            << "tls=yes\n"
            << "version=" << version << '\n'
            << "version_extra=\n"
            << "version_major=" << version.substr(0, major_end) << '\n'
            << "version_minor=" << version.substr(major_end + 1, minor_end - major_end - 1) << '\n'
            << "vsock_option=yes\n"
            << "zstd=yes\n";
}

bool parse_decimal(const char* text, long& value) {
  const char* end = text + std::strlen(text);
  const auto [stop, ec] = std::from_chars(text, end, value);
  return ec == std::errc() && stop == end && stop != text;
}

// systemd socket activation: LISTEN_PID names us and LISTEN_FDS counts the
// listening sockets passed from descriptor 3.  The variables are removed so
// that nothing we start believes they are meant for it.
void detect_socket_activation(Options& options) {
  const char* listen_pid = std::getenv("LISTEN_PID");
  const char* listen_fds = std::getenv("LISTEN_FDS");
  long pid = 0, count = 0;
  if (!listen_pid || !listen_fds || !parse_decimal(listen_pid, pid) || pid != ::getpid()) return;
  if (!parse_decimal(listen_fds, count) || count < 1 || count > 1000)
    throw Error(std::string("socket activation: bad LISTEN_FDS: ") + listen_fds);
  if (options.run || options.ipaddr || options.port || options.single || options.unix_socket ||
      options.vsock)
    throw UsageError("socket activation cannot be used with -i, -p, -s, -U, --vsock or --run");
  options.socket_activation = true;
  options.listen_fds = static_cast<int>(count);
  options.foreground = true;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
}

// The TLS policy the server ends up with, or an error for --tls=require
// without credentials.
std::unique_ptr<TlsServer> load_tls(const Options& options) {
  auto tls = TlsServer::load(options.tls);
  if (tls || !options.tls.policy_set) return tls;
  if (options.tls.policy == TlsPolicy::require)
    throw Error(
        "--tls=require but could not load TLS certificates or the PSK file; "
        "use --tls-certificates=DIR or --tls-psk=FILE");
  if (options.tls.policy == TlsPolicy::on)
    std::fputs(
        "nbdkit: warning: --tls=on but could not load TLS certificates.\n"
        "TLS will be disabled and TLS connections will be rejected.\n"
        "Try setting '--tls-certificates=/path/to/certificates' or read\n"
        "the \"TLS\" section in nbdkit(1).\n",
        stderr);
  return tls;
}

// Everything after the command line is parsed.  Returns the exit status.
int run_server(Options& options) {
  if (options.selinux_label)
    throw Error("--selinux-label: this nbdkit was built without SELinux support");

  if (options.dump_config) {
    dump_config();
    return EXIT_SUCCESS;
  }
  if ((options.show_help || options.show_version) && options.plugin_name.empty()) {
    std::cout << (options.show_help ? usage_text() : "nbdkit " + std::string(server_version()) + "\n");
    return EXIT_SUCCESS;
  }

  configure_logging(options);
  set_stdio_in_use(options.single);
  detect_socket_activation(options);

  Backend backend(options.plugin_name, options.filters);
  if (options.show_help) {
    std::cout << usage_text() << '\n' << backend.config_help();
    return EXIT_SUCCESS;
  }
  if (options.show_version) {
    std::cout << "nbdkit " << server_version() << '\n' << backend.versions();
    return EXIT_SUCCESS;
  }

  apply_magic_key(options, backend.plugin().magic_config_key());
  backend.load();
  for (const auto& [key, value] : options.plugin_args) backend.config(key, value);
  if (options.dump_plugin) {
    backend.dump_plugin(std::cout);
    return EXIT_SUCCESS;
  }
  backend.config_complete();
  backend.get_ready();

  if (options.swap && ::mlockall(MCL_CURRENT | MCL_FUTURE) == -1)
    throw Error(std::string("--swap: mlockall: ") + std::strerror(errno));

  const std::unique_ptr<TlsServer> tls = load_tls(options);
  const TlsPolicy tls_policy = tls ? tls->policy() : TlsPolicy::off;
  ServerContext ctx{options, backend, tls.get()};

  if (options.single) {
    // The client's channel moves off stdin/stdout so that nothing else can
    // write into the NBD stream.
    const int in_fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    const int out_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (in_fd == -1 || out_fd == -1) throw Error(std::string("dup: ") + std::strerror(errno));
    detach_stdin_stdout();
    change_user(options.user, options.group);
    if (options.pidfile) write_pidfile(*options.pidfile);
    backend.after_fork();
    serve_single_connection(ctx, in_fd, out_fd);
    backend.cleanup_and_unload();
    return requested_exit_status();
  }

  Listener listener(options);
  const std::string uri = build_nbd_uri(options, listener.unix_socket(), tls_policy,
                                        tls ? tls->psk_username() : std::string());
  const std::string uri_message = options.print_uri && !uri.empty() ? uri + "\n" : std::string();

  // When the server forks, the waiting side learns through this when the
  // server is ready.
  std::optional<ReadinessPipe> ready;
  if (options.run || !options.foreground) ready.emplace();
  if (options.run) {
    run_captive(options,
                captive_shell_variables(options, uri, listener.unix_socket(), tls_policy),
                listener, *ready);
  }
  change_user(options.user, options.group);
  if (!options.foreground) {
    daemonize(*ready, options.verbose, uri_message);
    logging_after_fork(true);
  }
  if (options.pidfile) write_pidfile(*options.pidfile);
  backend.after_fork();
  if (options.foreground && !uri_message.empty()) std::fputs(uri_message.c_str(), stdout);
  detach_stdin_stdout();
  if (ready) ready->signal_ready();

  accept_connections(ctx, listener);
  backend.cleanup_and_unload();
  listener.remove_private_socket();
  return requested_exit_status();
}

}  // namespace
}  // namespace nbdkit::server

int main(int argc, char* argv[]) {
  using namespace nbdkit::server;
  const pid_t original_parent = ::getppid();

  if (!stdio_is_open()) {
    std::fputs("nbdkit: stdin, stdout and stderr must be open\n", stderr);
    return EXIT_FAILURE;
  }
  ::umask(022);

  try {
    Options options = parse_command_line(argc, argv);
    install_signal_handlers();
    if (options.exit_with_parent) arm_exit_with_parent(original_parent);
    return run_server(options);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "nbdkit: %s\n", e.what());
  } catch (const nbdkit::Error& e) {
    nbdkit::error("%s", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nbdkit: error: %s\n", e.what());
  }
  return EXIT_FAILURE;
}
