// nbdkit --filter=exitwhen PLUGIN exit-when-*=...: once an external event
// happens, refuses new clients and exits when the current ones have gone
// (nbdkit-exitwhen-filter(1)).
//
// Events are checked when a client connects or disconnects and, while no
// client is connected, by a background thread every exit-when-poll seconds.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nbdkit/plugin.hpp>

extern char** environ;

namespace {

class Event {
 public:
  virtual ~Event() = default;
  virtual bool happened() = 0;
};

class FileCreated final : public Event {
 public:
  explicit FileCreated(std::string path) : path_(std::move(path)) {}
  bool happened() override {
    if (access(path_.c_str(), F_OK) != 0) return false;
    nbdkit::debug("exitwhen: %s was created", path_.c_str());
    return true;
  }

 private:
  std::string path_;
};

class FileDeleted final : public Event {
 public:
  explicit FileDeleted(std::string path) : path_(std::move(path)) {}
  bool happened() override {
    // Only "it is not there" counts: a permission error on the directory
    // says nothing about whether the file went away.
    if (access(path_.c_str(), F_OK) == 0 || (errno != ENOENT && errno != ENOTDIR)) return false;
    nbdkit::debug("exitwhen: %s was deleted", path_.c_str());
    return true;
  }

 private:
  std::string path_;
};

// Reports readiness without consuming anything from the descriptor.
short poll_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, 0);
  while (r == -1 && errno == EINTR);
  return r > 0 ? p.revents : 0;
}

class PipeClosed final : public Event {
 public:
  explicit PipeClosed(int fd) : fd_(fd) {}
  bool happened() override {
    if ((poll_now(fd_) & (POLLHUP | POLLERR)) == 0) return false;
    nbdkit::debug("exitwhen: pipe on fd %d was closed", fd_);
    return true;
  }

 private:
  int fd_;
};

class ProcessExits final : public Event {
 public:
  // Takes hold of the process now, at configuration time: a pidfd keeps
  // referring to this process even if its PID is later reused.
  explicit ProcessExits(pid_t pid) : pid_(pid) {
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd_ == -1 && errno == ESRCH)
      throw nbdkit::Error("exit-when-process-exits: there is no process " + std::to_string(pid));
    if (pidfd_ == -1 && kill(pid, 0) == -1 && errno == ESRCH)
      throw nbdkit::Error("exit-when-process-exits: there is no process " + std::to_string(pid));
  }
  ~ProcessExits() override {
    if (pidfd_ != -1) close(pidfd_);
  }
  ProcessExits(const ProcessExits&) = delete;
  ProcessExits& operator=(const ProcessExits&) = delete;

  bool happened() override {
    // A pidfd becomes readable when the process terminates.  Without
    // pidfds (old kernels) fall back to probing the PID.
    bool exited = pidfd_ != -1 ? (poll_now(pidfd_) & POLLIN) != 0
                               : kill(pid_, 0) == -1 && errno == ESRCH;
    if (exited) nbdkit::debug("exitwhen: process %d exited", static_cast<int>(pid_));
    return exited;
  }

 private:
  pid_t pid_;
  int pidfd_;
};

class ScriptSaysSo final : public Event {
 public:
  explicit ScriptSaysSo(std::string command) : command_(std::move(command)) {}

  // The script's contract: 0 no event, 88 event, anything else is its
  // error, logged and otherwise ignored.
  bool happened() override {
    static constexpr int event_status = 88;
    const char* argv[] = {"sh", "-c", command_.c_str(), nullptr};
    pid_t pid;
    if (int err = posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ)) {
      nbdkit::error("exitwhen: exit-when-script: cannot run /bin/sh: %s", std::strerror(err));
      return false;
    }
    int status;
    pid_t r;
    do r = waitpid(pid, &status, 0);
    while (r == -1 && errno == EINTR);
    if (r == -1) {
      nbdkit::error("exitwhen: exit-when-script: waitpid: %s", std::strerror(errno));
      return false;
    }
    if (WIFSIGNALED(status)) {
      nbdkit::error("exitwhen: exit-when-script: %s: killed by signal %d", command_.c_str(),
                    WTERMSIG(status));
      return false;
    }
    int code = WEXITSTATUS(status);
    if (code == event_status) {
      nbdkit::debug("exitwhen: exit-when-script: %s: event triggered", command_.c_str());
      return true;
    }
    if (code != 0)
      nbdkit::error("exitwhen: exit-when-script: %s: exited with status %d", command_.c_str(),
                    code);
    return false;
  }

 private:
  std::string command_;
};

class ExitWhenFilter;

// Lives exactly as long as one client's connection through this filter.
class WatchedConnection final : public nbdkit::FilterContext {
 public:
  WatchedConnection(std::unique_ptr<nbdkit::Context> next, ExitWhenFilter& filter);
  ~WatchedConnection() override;

 private:
  ExitWhenFilter& filter_;
};

class ExitWhenFilter final : public nbdkit::Filter {
 public:
  ~ExitWhenFilter() override { stop_polling(); }

  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "exit-when-file-created=FILENAME  Exit when FILENAME is created.\n"
           "exit-when-file-deleted=FILENAME  Exit when FILENAME is deleted.\n"
           "exit-when-pipe-closed=FD         Exit when the pipe with read end FD is closed.\n"
           "exit-when-process-exits=PID      Exit when process PID exits.\n"
           "exit-when-script=SCRIPT          Exit when SCRIPT exits with status 88.\n"
           "exit-when-poll=SECS              Seconds between checks while idle (default 60).";
  }

  void dump_plugin(std::ostream& out) const override {
    out << "exitwhen_file_created=yes\n"
           "exitwhen_file_deleted=yes\n"
           "exitwhen_pipe_closed=yes\n"
           "exitwhen_process_exits=yes\n"
           "exitwhen_script=yes\n";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "exit-when-file-created")
      events_.push_back(std::make_unique<FileCreated>(nbdkit::absolute_path(value)));
    else if (key == "exit-when-file-deleted")
      events_.push_back(std::make_unique<FileDeleted>(nbdkit::absolute_path(value)));
    else if (key == "exit-when-pipe-closed")
      events_.push_back(std::make_unique<PipeClosed>(parse_open_fd(key, value)));
    else if (key == "exit-when-process-exits")
      events_.push_back(std::make_unique<ProcessExits>(parse_pid(key, value)));
    else if (key == "exit-when-script")
      events_.push_back(std::make_unique<ScriptSaysSo>(std::string(value)));
    else if (key == "exit-when-poll")
      poll_seconds_ = parse_non_negative(key, value);
    else
      return false;
    return true;
  }

  void after_fork() override {
    if (events_.empty()) return;
    poll_thread_ = std::thread([this] { poll_while_idle(); });
  }

  void cleanup() override { stop_polling(); }

  void preconnect(bool) override {
    if (events_.empty()) return;
    std::unique_lock lock(mutex_);
    if (!event_happened_locked()) return;
    // The poll thread may not have noticed yet.
    bool idle = connections_ == 0;
    lock.unlock();
    if (idle) exit_now();
    throw nbdkit::Error("exitwhen: nbdkit is exiting: rejecting new connection", ESHUTDOWN);
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    if (events_.empty()) return next(readonly, exportname);
    return std::make_unique<WatchedConnection>(next(readonly, exportname), *this);
  }

  void connection_opened() {
    std::lock_guard lock(mutex_);
    ++connections_;
  }

  void connection_closed() {
    std::unique_lock lock(mutex_);
    bool exit = --connections_ == 0 && event_happened_locked();
    lock.unlock();
    if (exit) exit_now();
  }

 private:
  static int parse_open_fd(std::string_view key, std::string_view value) {
    int64_t fd = nbdkit::parse_int(key, value);
    if (fd < 0 || fd > INT32_MAX || fcntl(static_cast<int>(fd), F_GETFD) == -1)
      throw nbdkit::Error(std::string(key) + ": " + std::string(value) +
                          " is not an open file descriptor");
    return static_cast<int>(fd);
  }

  static pid_t parse_pid(std::string_view key, std::string_view value) {
    int64_t pid = nbdkit::parse_int(key, value);
    if (pid <= 0 || pid > INT32_MAX)
      throw nbdkit::Error(std::string(key) + ": " + std::string(value) + " is not a process ID");
    return static_cast<pid_t>(pid);
  }

  static unsigned parse_non_negative(std::string_view key, std::string_view value) {
    int64_t n = nbdkit::parse_int(key, value);
    if (n < 0 || n > UINT32_MAX)
      throw nbdkit::Error(std::string(key) + ": " + std::string(value) + " is out of range");
    return static_cast<unsigned>(n);
  }

  // Once any event has happened it stays happened: the server is on its
  // way out even if, say, the file is deleted again.
  bool event_happened_locked() {
    if (!event_happened_)
      event_happened_ = std::any_of(events_.begin(), events_.end(),
                                    [](const auto& event) { return event->happened(); });
    return event_happened_;
  }

  // Called without the lock held, in case the server's shutdown reaches
  // back into this filter.
  static void exit_now() {
    nbdkit::debug("exitwhen: event happened and no client is connected: exiting");
    nbdkit::shutdown(0);
  }

  void poll_while_idle() {
    // exit-when-poll=0 is accepted (as by nbdkit) but checking more often
    // than this would only burn CPU.
    const auto interval = std::max<std::chrono::milliseconds>(std::chrono::seconds(poll_seconds_),
                                                              std::chrono::milliseconds(100));
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (connections_ == 0 && event_happened_locked()) {
        lock.unlock();
        exit_now();
        return;
      }
      wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
  }

  void stop_polling() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (poll_thread_.joinable()) poll_thread_.join();
  }

  std::vector<std::unique_ptr<Event>> events_;
  unsigned poll_seconds_ = 60;

  std::mutex mutex_;  // guards everything below, and serializes event checks
  std::condition_variable wake_;
  unsigned connections_ = 0;
  bool event_happened_ = false;
  bool stopping_ = false;
  std::thread poll_thread_;
};

WatchedConnection::WatchedConnection(std::unique_ptr<nbdkit::Context> next,
                                     ExitWhenFilter& filter)
    : FilterContext(std::move(next)), filter_(filter) {
  filter_.connection_opened();
}

WatchedConnection::~WatchedConnection() { filter_.connection_closed(); }

}  // namespace

NBDKIT_REGISTER_FILTER("exitwhen", ExitWhenFilter);
