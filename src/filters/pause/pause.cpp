// nbdkit --filter=pause: holds requests while paused through a control
// socket (nbdkit-pause-filter(1)).  Sending 'p' pauses (answered 'P' once
// the requests already running have finished), 'r' resumes ('R'); other
// characters get 'X', whitespace is ignored.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <nbdkit/plugin.hpp>

namespace {

// Requests pass a gate that the control socket closes and opens.
class Gate {
 public:
  // Waits while paused; 0, or ESHUTDOWN when the server stops meanwhile.
  int enter() {
    std::unique_lock lock(mutex_);
    while (paused_) {
      if (nbdkit::shutdown_requested()) return ESHUTDOWN;
      changed_.wait_for(lock, std::chrono::milliseconds(200));
    }
    ++running_;
    return 0;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--running_ == 0) changed_.notify_all();
  }
  // Closes the gate and waits for the requests already inside.
  void pause() {
    std::unique_lock lock(mutex_);
    paused_ = true;
    changed_.wait(lock, [this] { return running_ == 0; });
  }
  void resume() {
    std::lock_guard lock(mutex_);
    paused_ = false;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool paused_ = false;
  unsigned running_ = 0;
};

class PauseContext final : public nbdkit::FilterContext {
 public:
  PauseContext(std::unique_ptr<nbdkit::Context> next, Gate& gate)
      : FilterContext(std::move(next)), gate_(gate) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return through([&] { return next().pread(buf, count, offset, flags); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return through([&] { return next().pwrite(buf, count, offset, flags); });
  }
  int flush(uint32_t flags) override { return through([&] { return next().flush(flags); }); }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return through([&] { return next().trim(count, offset, flags); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return through([&] { return next().zero(count, offset, flags); });
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    return through([&] { return next().extents(count, offset, flags, out); });
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    return through([&] { return next().cache(count, offset, flags); });
  }

 private:
  template <typename Call>
  int through(Call&& call) {
    if (const int err = gate_.enter()) return err;
    const int result = call();
    gate_.leave();
    return result;
  }

  Gate& gate_;
};

class PauseFilter final : public nbdkit::Filter {
 public:
  ~PauseFilter() override { stop(); }

  std::string config_help() const override {
    return "pause-control=SOCKET  The Unix socket that controls pausing.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "pause-control") return false;
    path_ = nbdkit::absolute_path(value);
    return true;
  }
  void config_complete() override {
    if (path_.empty()) throw nbdkit::Error("pause-control socket was not set");
    sockaddr_un addr{};
    if (path_.size() >= sizeof addr.sun_path)
      throw nbdkit::Error("pause-control socket path is too long: " + path_);
  }
  // Listening starts before the server forks into the background, so a
  // bad path fails the start; the thread runs in the final process.
  void get_ready() override {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw nbdkit::Error("socket: " + std::string(std::strerror(errno)), errno);
    ::unlink(path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        ::listen(listen_fd_, 4) < 0)
      throw nbdkit::Error(path_ + ": " + std::strerror(errno), errno);
  }
  void after_fork() override { thread_ = std::thread([this] { serve(); }); }
  void cleanup() override { stop(); }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<PauseContext>(next(readonly, exportname), gate_);
  }

 private:
  // One control client at a time, until cleanup.
  void serve() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      converse(fd);
      ::close(fd);
    }
  }
  void converse(int fd) {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char c;
      if (::read(fd, &c, 1) != 1) return;
      char reply;
      if (c == 'p') {
        gate_.pause();
        reply = 'P';
      } else if (c == 'r') {
        gate_.resume();
        reply = 'R';
      } else if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
        continue;
      } else {
        reply = 'X';
      }
      if (::write(fd, &reply, 1) != 1) return;
    }
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
      ::unlink(path_.c_str());
    }
  }

  std::string path_;
  int listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  Gate gate_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("pause", PauseFilter);
