// The server process's life: signals, the quit self-pipe behind
// nbdkit::shutdown(), --exit-with-parent, forking into the background and
// the pidfile.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace nbdkit::server {

// SIGINT, SIGTERM and SIGQUIT request a graceful shutdown (exit status 0);
// SIGPIPE is ignored.  Call once, early, while single-threaded.
void install_signal_handlers();

// Readable (never drained) once a shutdown has been requested, by a signal
// or by nbdkit::shutdown().  Poll it next to anything the server waits on.
int quit_fd();

// In a freshly forked process: gives it a quit pipe of its own, so that a
// signal to the process on the other side of the fork cannot stop it.
void renew_quit_pipe();

// The status nbdkit::shutdown() asked for (0 after a signal).
int requested_exit_status();

// True once a signal (or the parent's death) asked for the shutdown: then
// connected clients are cut short after their in-flight requests.  A
// shutdown asked for by nbdkit::shutdown() alone lets them run to their
// end, which the exitlast and exitwhen filters rely on: they ask for it
// while a client may still be negotiating.
bool shutdown_interrupts_clients();

// Asks the kernel to send SIGTERM when the parent dies (--exit-with-parent).
// `original_parent` is getppid() from the very start of main(): if the
// parent is already gone, the shutdown is requested at once.
// Throws nbdkit::Error when the platform cannot do it.
void arm_exit_with_parent(pid_t original_parent);

// Tells the process that forked the server whether the server got as far as
// accepting connections.  The forking side waits on it instead of polling.
class ReadinessPipe {
 public:
  ReadinessPipe();  // throws nbdkit::Error
  ReadinessPipe(const ReadinessPipe&) = delete;
  ReadinessPipe& operator=(const ReadinessPipe&) = delete;
  ~ReadinessPipe();

  // In the forked server: keep the write end only.
  void become_server();
  // In the waiting process: keep the read end only.
  void become_waiter();

  // Server side: reports success; later calls do nothing.
  void signal_ready();
  // Waiter side: true once the server reported success, false if it exited
  // (or closed the pipe) first.
  bool wait_until_ready();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

// Forks into the background (no -f): the parent waits until the server is
// ready, prints `ready_message` (if any) to stdout and exits 0 (1 if the
// server failed to start instead); it never returns.
// The child starts a new session, changes to / and points stdin, stdout and
// (unless -v) stderr at /dev/null; it returns with `ready` in server mode.
void daemonize(ReadinessPipe& ready, bool keep_stderr, const std::string& ready_message);

// Points stdin and stdout at /dev/null, so that nothing the server or a
// plugin prints can reach a terminal or pipe the server does not own.
void detach_stdin_stdout();

// Writes "PID\n" of the calling process (-P).  Throws nbdkit::Error.
void write_pidfile(const std::string& path);

// -g then -u: switch group, then user (names or numbers).  Throws
// nbdkit::Error.
void change_user(const std::optional<std::string>& user,
                 const std::optional<std::string>& group);

}  // namespace nbdkit::server
