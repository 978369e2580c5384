#include "captive.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "uri.hpp"

extern char** environ;

namespace nbdkit::server {

namespace {

void set_signal_disposition(int sig, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  ::sigaction(sig, &action, nullptr);
}

pid_t wait_for(pid_t pid, int& status, int flags = 0) {
  pid_t result;
  do result = ::waitpid(pid, &status, flags);
  while (result == -1 && errno == EINTR);
  return result;
}

// The command runs with the signal dispositions and mask a shell started
// by hand would have, not the ones the server set up for itself.
pid_t spawn_shell(const std::string& script) {
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig : {SIGINT, SIGQUIT, SIGTERM, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  char shell_name[] = "sh";
  char dash_c[] = "-c";
  std::string script_copy = script;
  char* const argv[] = {shell_name, dash_c, script_copy.data(), nullptr};
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, "/bin/sh", nullptr, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  if (err != 0) {
    errno = err;
    return -1;
  }
  return pid;
}

int status_after_signal(const char* who, int sig) {
  std::fprintf(stderr, "nbdkit: %s was killed by signal %d\n", who, sig);
  return 128 + sig;
}

// Ends the server (if still running) and folds its fate into the command's
// exit status.
int finish_server(pid_t server, int command_result) {
  int status = 0;
  const pid_t reaped = wait_for(server, status, WNOHANG);
  if (reaped == -1) {
    nbdkit::error("waitpid: %s", std::strerror(errno));
    return EXIT_FAILURE;
  }
  if (reaped == 0) {
    // Still serving: the normal case.  A graceful stop lets the plugin
    // clean up; its exit status then does not matter, but a death by some
    // other signal (e.g. a SIGKILL racing with ours) still does.
    ::kill(server, SIGTERM);
    if (wait_for(server, status) == -1) {
      nbdkit::error("waitpid: %s", std::strerror(errno));
      return EXIT_FAILURE;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
      return status_after_signal("nbdkit command", WTERMSIG(status));
    return command_result;
  }
  if (WIFSIGNALED(status)) return status_after_signal("nbdkit command", WTERMSIG(status));
  if (command_result == 0 && WIFEXITED(status)) return WEXITSTATUS(status);
  return command_result;
}

[[noreturn]] void run_command_and_exit(const std::string& script, pid_t server, Listener& listener,
                                       ReadinessPipe& ready) {
  ready.become_waiter();
  // Clients must reach the server, not a copy of its sockets nobody accepts on.
  listener.close_sockets();
  // Like system(3): a ^C is for the command (and the server), not for us.
  set_signal_disposition(SIGINT, SIG_IGN);
  set_signal_disposition(SIGQUIT, SIG_IGN);
  set_signal_disposition(SIGTERM, SIG_DFL);

  int result;
  int status = 0;
  if (!ready.wait_until_ready()) {
    // The server failed to start and has said why; the command never runs.
    wait_for(server, status);
    result = WIFSIGNALED(status) ? status_after_signal("nbdkit command", WTERMSIG(status))
                                 : EXIT_FAILURE;
  } else {
    const pid_t command = spawn_shell(script);
    if (command == -1) {
      nbdkit::error("failure to execute external command: %s", std::strerror(errno));
      result = finish_server(server, EXIT_FAILURE);
    } else {
      if (wait_for(command, status) == -1) {
        nbdkit::error("waitpid: %s", std::strerror(errno));
        result = EXIT_FAILURE;
      } else if (WIFSIGNALED(status)) {
        result = status_after_signal("external command", WTERMSIG(status));
      } else {
        result = WEXITSTATUS(status);
      }
      result = finish_server(server, result);
    }
  }
  // The server removes it too, unless it was killed.
  listener.remove_private_socket();
  std::fflush(nullptr);
  ::_exit(result);
}

}  // namespace

std::string captive_shell_variables(const Options& options, const std::string& uri,
                                    const std::string& unix_socket, TlsPolicy tls) {
  const std::string quoted_uri = shell_quote(uri);
  std::string text;
  text += "uri=" + quoted_uri + "\n";
  text += "nbd=" + quoted_uri + "\n";
  text += "port=" + shell_quote(options.port.value_or("")) + "\n";
  text += "unixsocket=" + shell_quote(unix_socket) + "\n";
  text += "exportname=" + shell_quote(options.exportname) + "\n";
  if (tls == TlsPolicy::on) text += "tls=1\n";
  if (tls == TlsPolicy::require) text += "tls=2\n";
  text += "tls_certificates=" + shell_quote(options.tls.certificates_dir) + "\n";
  text += "tls_psk=" + shell_quote(options.tls.psk_file) + "\n";
  return text;
}

void run_captive(const Options& options, const std::string& shell_variables, Listener& listener,
                 ReadinessPipe& ready) {
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t server = ::fork();
  if (server == -1) throw Error(std::string("fork: ") + std::strerror(errno));
  if (server > 0) run_command_and_exit(shell_variables + *options.run, server, listener, ready);

  ready.become_server();
  renew_quit_pipe();
  // A server whose command runner is gone has no reason to live on.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) nbdkit::shutdown(0);
}

}  // namespace nbdkit::server
