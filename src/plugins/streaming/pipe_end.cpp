#include "pipe_end.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include <nbdkit/plugin.hpp>

namespace streaming {
namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

// How often blocked waits look at whether the server is shutting down.
constexpr int poll_interval_ms = 500;

int connect_unix_socket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw nbdkit::Error("socket path is too long for a Unix socket: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) throw nbdkit::Error("socket: " + errno_text(errno));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == -1) {
    int err = errno;
    close(fd);
    throw nbdkit::Error("cannot connect to Unix socket " + path + ": " + errno_text(err));
  }
  // Non-blocking so that every wait goes through poll(), which can notice
  // a server shutdown.
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
    int err = errno;
    close(fd);
    throw nbdkit::Error("fcntl: " + errno_text(err));
  }
  return fd;
}

// A FIFO's buffer is 64 KiB by default, so a stream of large requests
// wakes the process at the other end every 64 KiB.  Asking for 1 MiB (the
// default limit for unprivileged processes, /proc/sys/fs/pipe-max-size)
// cuts the switches between the two processes sixteenfold.  Best effort:
// a lower limit leaves the pipe as it was.
void enlarge_fifo(int fd) {
  constexpr int wanted = 1 << 20;
  if (fcntl(fd, F_SETPIPE_SZ, wanted) == -1)
    nbdkit::debug("could not enlarge the FIFO's buffer: %s", errno_text(errno).c_str());
}

}  // namespace

PipeEnd::PipeEnd(std::string path, Direction direction, uint64_t reader_timeout_ns)
    : path_(std::move(path)), direction_(direction), reader_timeout_ns_(reader_timeout_ns) {
  struct stat st;
  if (stat(path_.c_str(), &st) == -1) {
    if (errno != ENOENT) throw nbdkit::Error(path_ + ": " + errno_text(errno));
    if (mkfifo(path_.c_str(), 0666) == -1 && errno != EEXIST)
      throw nbdkit::Error("cannot create FIFO " + path_ + ": " + errno_text(errno));
    if (stat(path_.c_str(), &st) == -1) throw nbdkit::Error(path_ + ": " + errno_text(errno));
    nbdkit::debug("created FIFO %s", path_.c_str());
  }

  const bool writing = direction_ == Direction::write;
  if (S_ISFIFO(st.st_mode)) {
    is_fifo_ = true;
    if (writing) {
      int err = open_fifo_for_writing();
      if (err == ENXIO)
        nbdkit::debug("no process is reading FIFO %s yet; the first write waits for one",
                      path_.c_str());
      else if (err != 0)
        throw nbdkit::Error("cannot open FIFO " + path_ + ": " + errno_text(err));
    } else {
      // O_NONBLOCK: opening a FIFO for reading would otherwise block the
      // server's start-up until a writer appears.
      fd_ = open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ == -1) throw nbdkit::Error("cannot open FIFO " + path_ + ": " + errno_text(errno));
      enlarge_fifo(fd_);
    }
  } else if (S_ISSOCK(st.st_mode)) {
    is_socket_ = true;
    fd_ = connect_unix_socket(path_);
  } else if (S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && !writing)) {
    fd_ = open(path_.c_str(), (writing ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    if (fd_ == -1) throw nbdkit::Error("cannot open " + path_ + ": " + errno_text(errno));
  } else if (S_ISREG(st.st_mode)) {
    throw nbdkit::Error(path_ +
                        " is a regular file: the streaming plugin writes only to a FIFO, a Unix "
                        "socket or a character device and never overwrites a file (to write a "
                        "disk image into a file use the file plugin)");
  } else {
    throw nbdkit::Error(path_ + " is not a FIFO, a Unix socket, a character device or a file");
  }
}

PipeEnd::~PipeEnd() {
  if (fd_ != -1) close(fd_);
}

int PipeEnd::open_fifo_for_writing() {
  // O_NONBLOCK makes the open fail with ENXIO instead of hanging when no
  // process has the FIFO open for reading.  Unlike nbdkit's O_RDWR, the
  // server holds no read end itself, so a reader that goes away is seen
  // (EPIPE) instead of the stream silently filling the pipe and hanging.
  fd_ = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ == -1) return errno;
  enlarge_fifo(fd_);
  return 0;
}

int PipeEnd::wait_for_reader() {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::nanoseconds(reader_timeout_ns_);
  nbdkit::debug("waiting for a process to open FIFO %s for reading", path_.c_str());
  for (;;) {
    int err = open_fifo_for_writing();
    if (err == 0) return 0;
    if (err != ENXIO) {
      nbdkit::error("cannot open FIFO %s: %s", path_.c_str(), errno_text(err).c_str());
      return err;
    }
    if (clock::now() >= deadline) {
      nbdkit::error("no process opened FIFO %s for reading within %g seconds: start the reader "
                    "(for example: cat %s > FILE) before the client writes, or raise "
                    "reader-timeout=",
                    path_.c_str(), static_cast<double>(reader_timeout_ns_) / 1e9, path_.c_str());
      return EIO;
    }
    if (nbdkit::shutdown_requested()) return ESHUTDOWN;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int PipeEnd::wait_ready(short events, bool interruptible) {
  for (;;) {
    pollfd p{fd_, events, 0};
    int r = poll(&p, 1, poll_interval_ms);
    // Errors and hang-ups count as ready: the next read or write reports them.
    if (r > 0) return 0;
    if (r == 0) {
      if (interruptible && nbdkit::shutdown_requested()) return ESHUTDOWN;
      continue;
    }
    if (errno == EINTR) continue;
    int err = errno;
    nbdkit::error("poll on %s: %s", path_.c_str(), errno_text(err).c_str());
    return err;
  }
}

int PipeEnd::write_all(const void* data, uint64_t count) {
  static const char zeroes[1 << 20] = {};
  if (fd_ == -1) {
    int err = wait_for_reader();
    if (err != 0) return err;
  }
  const char* p = static_cast<const char*>(data);
  while (count > 0) {
    const char* source = p ? p : zeroes;
    size_t n = std::min<uint64_t>(count, p ? uint64_t{1} << 30 : sizeof zeroes);
    ssize_t r = is_socket_ ? send(fd_, source, n, MSG_NOSIGNAL) : write(fd_, source, n);
    if (r > 0) {
      count -= r;
      if (p) p += r;
      continue;
    }
    if (r == -1 && errno == EINTR) continue;
    if (r == -1 && errno == EAGAIN) {
      // Not interruptible: this data has been acknowledged to the client
      // (or is being written at its request) and must reach the reader.
      int err = wait_ready(POLLOUT, false);
      if (err != 0) return err;
      continue;
    }
    int err = r == -1 ? errno : EIO;
    if (err == EPIPE || err == ECONNRESET)
      nbdkit::error("the reader of %s has gone away", path_.c_str());
    else
      nbdkit::error("writing to %s: %s", path_.c_str(), errno_text(err).c_str());
    return err;
  }
  return 0;
}

int PipeEnd::end_of_stream() {
  nbdkit::error("unexpected end of stream reading %s", path_.c_str());
  return EIO;
}

int PipeEnd::read_exact(void* buf, size_t count) {
  char* p = static_cast<char*>(buf);
  while (count > 0) {
    ssize_t r = read(fd_, p, count);
    if (r > 0) {
      p += r;
      count -= r;
      continue;
    }
    if (r == 0) {
      if (!is_fifo_) return end_of_stream();
      // A FIFO also reads as empty before any writer has opened it.  poll()
      // tells the two apart: it reports a hang-up only once a writer has
      // come and gone.
      pollfd pfd{fd_, POLLIN, 0};
      int ready = poll(&pfd, 1, poll_interval_ms);
      if (ready > 0 && (pfd.revents & POLLHUP) && !(pfd.revents & POLLIN)) return end_of_stream();
      if (ready == 0 && nbdkit::shutdown_requested()) return ESHUTDOWN;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int err = wait_ready(POLLIN, true);
      if (err != 0) return err;
      continue;
    }
    int err = errno;
    nbdkit::error("reading from %s: %s", path_.c_str(), errno_text(err).c_str());
    return err;
  }
  return 0;
}

}  // namespace streaming
