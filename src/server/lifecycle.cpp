#include "lifecycle.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <nbdkit/plugin.hpp>

namespace nbdkit::server {

namespace {

// -1 until a shutdown is requested, then the exit status.  The first request
// wins: a later nbdkit::shutdown(N) does not override a signal's 0.
constexpr int not_requested = -1;
std::atomic<int> requested_status{not_requested};
static_assert(std::atomic<int>::is_always_lock_free, "used from signal handlers");

// The quit self-pipe.  Written once, never drained, so that every poller
// sees it readable from then on.
int quit_pipe[2] = {-1, -1};

// Async-signal-safe: an atomic and a write(2).
std::atomic<bool> interrupt_clients{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void request_shutdown(int status, bool interrupt) {
  if (interrupt) interrupt_clients.store(true);
  int expected = not_requested;
  if (!requested_status.compare_exchange_strong(expected, status & 0xff)) return;
  if (quit_pipe[1] >= 0) {
    const int saved_errno = errno;
    const char byte = 0;
    [[maybe_unused]] const ssize_t n = ::write(quit_pipe[1], &byte, 1);
    errno = saved_errno;
  }
}

void handle_quit_signal(int) { request_shutdown(0, true); }

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void redirect_to_dev_null(int target_fd, int flags) {
  const int null_fd = ::open("/dev/null", flags | O_CLOEXEC);
  if (null_fd < 0) throw Error(errno_text("/dev/null"));
  if (null_fd != target_fd) {
    ::dup2(null_fd, target_fd);  // dup2 clears FD_CLOEXEC on the target
    ::close(null_fd);
  } else {
    ::fcntl(target_fd, F_SETFD, 0);
  }
}

template <typename Id>
bool parse_numeric_id(const std::string& text, Id& id) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void install_signal_handlers() {
  if (quit_pipe[0] < 0 && ::pipe2(quit_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
    throw Error(errno_text("pipe"));

  struct sigaction quit_action {};
  quit_action.sa_handler = handle_quit_signal;
  sigemptyset(&quit_action.sa_mask);
  quit_action.sa_flags = SA_RESTART;
  for (const int sig : {SIGINT, SIGTERM, SIGQUIT}) ::sigaction(sig, &quit_action, nullptr);

  struct sigaction ignore_action {};
  ignore_action.sa_handler = SIG_IGN;
  sigemptyset(&ignore_action.sa_mask);
  ::sigaction(SIGPIPE, &ignore_action, nullptr);
}

int quit_fd() { return quit_pipe[0]; }

void renew_quit_pipe() {
  int fresh[2];
  if (::pipe2(fresh, O_CLOEXEC | O_NONBLOCK) == -1) throw Error(errno_text("pipe"));
  // The handlers must see either the old pair or the new one, never a mix.
  sigset_t all, previous;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &previous);
  const int old_read = quit_pipe[0], old_write = quit_pipe[1];
  quit_pipe[0] = fresh[0];
  quit_pipe[1] = fresh[1];
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  ::close(old_read);
  ::close(old_write);
  if (requested_status.load() != not_requested) {
    const char byte = 0;
    [[maybe_unused]] const ssize_t n = ::write(quit_pipe[1], &byte, 1);
  }
}

bool shutdown_interrupts_clients() { return interrupt_clients.load(); }

int requested_exit_status() {
  const int status = requested_status.load();
  return status == not_requested ? 0 : status;
}

void arm_exit_with_parent(pid_t original_parent) {
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
    throw Error(errno_text("--exit-with-parent: prctl"));
  // The parent may have died before the request took effect, in which case
  // no signal will ever come.
  if (::getppid() != original_parent) request_shutdown(0, true);
}

ReadinessPipe::ReadinessPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) == -1) throw Error(errno_text("pipe"));
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

ReadinessPipe::~ReadinessPipe() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

void ReadinessPipe::become_server() {
  ::close(read_fd_);
  read_fd_ = -1;
}

void ReadinessPipe::become_waiter() {
  ::close(write_fd_);
  write_fd_ = -1;
}

void ReadinessPipe::signal_ready() {
  if (write_fd_ < 0) return;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(write_fd_, &byte, 1);
  ::close(write_fd_);
  write_fd_ = -1;
}

bool ReadinessPipe::wait_until_ready() {
  char byte = 0;
  ssize_t n;
  do n = ::read(read_fd_, &byte, 1);
  while (n == -1 && errno == EINTR);
  return n == 1;
}

void daemonize(ReadinessPipe& ready, bool keep_stderr, const std::string& ready_message) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == -1) throw Error(errno_text("fork"));
  if (pid > 0) {
    ready.become_waiter();
    if (!ready.wait_until_ready()) ::_exit(EXIT_FAILURE);
    if (!ready_message.empty()) {
      std::fputs(ready_message.c_str(), stdout);
      std::fflush(stdout);
    }
    ::_exit(EXIT_SUCCESS);
  }

  ready.become_server();
  renew_quit_pipe();
  ::setsid();
  if (::chdir("/") == -1) throw Error(errno_text("chdir: /"));
  redirect_to_dev_null(STDIN_FILENO, O_RDONLY);
  redirect_to_dev_null(STDOUT_FILENO, O_WRONLY);
  if (!keep_stderr) redirect_to_dev_null(STDERR_FILENO, O_WRONLY);
}

void detach_stdin_stdout() {
  std::fflush(stdout);
  redirect_to_dev_null(STDIN_FILENO, O_RDONLY);
  redirect_to_dev_null(STDOUT_FILENO, O_WRONLY);
}

void write_pidfile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd == -1) throw Error(errno_text(path));
  const std::string text = std::to_string(::getpid()) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int write_errno = errno;
  if (::close(fd) == -1 || !written) {
    errno = written ? errno : write_errno;
    throw Error(errno_text(path));
  }
}

void change_user(const std::optional<std::string>& user, const std::optional<std::string>& group) {
  if (group) {
    gid_t gid;
    if (!parse_numeric_id(*group, gid)) {
      const struct group* entry = ::getgrnam(group->c_str());
      if (!entry) throw Error("-g: unknown group: " + *group);
      gid = entry->gr_gid;
    }
    // Only root has supplementary groups worth dropping (and may drop them).
    if (::geteuid() == 0 && ::setgroups(1, &gid) == -1) throw Error(errno_text("setgroups"));
    if (::setgid(gid) == -1) throw Error(errno_text("setgid"));
  }
  if (user) {
    uid_t uid;
    if (!parse_numeric_id(*user, uid)) {
      const struct passwd* entry = ::getpwnam(user->c_str());
      if (!entry) throw Error("-u: unknown user: " + *user);
      uid = entry->pw_uid;
    }
    if (::setuid(uid) == -1) throw Error(errno_text("setuid"));
  }
}

}  // namespace nbdkit::server

namespace nbdkit {

void shutdown(int exit_status) { server::request_shutdown(exit_status, false); }

bool shutdown_requested() {
  return server::requested_status.load() != server::not_requested;
}

}  // namespace nbdkit
