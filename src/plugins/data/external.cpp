#include "external.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace data {

namespace {

constexpr std::size_t chunk_bytes = 1 << 20;

// Reads `fd` to its end or to `limit` bytes; false if stopped by the limit.
bool read_all(int fd, uint64_t limit, const ChunkSink& sink, const std::string& what) {
  std::vector<char> buffer(chunk_bytes);
  uint64_t done = 0;
  while (done < limit) {
    const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(chunk_bytes, limit - done));
    const ssize_t got = ::read(fd, buffer.data(), want);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      throw nbdkit::Error("data: " + what + ": read: " + std::strerror(err), err);
    }
    if (got == 0) return true;
    sink(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    done += static_cast<uint64_t>(got);
  }
  return false;
}

}  // namespace

void read_file(const std::string& path, uint64_t limit, const ChunkSink& sink) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw nbdkit::Error("data: " + path + ": " + std::strerror(err), err);
  }
  try {
    read_all(fd, limit, sink, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void run_script(const std::string& script, uint64_t limit, const ChunkSink& sink) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) {
    const int err = errno;
    throw nbdkit::Error(std::string("data: <(SCRIPT): pipe: ") + std::strerror(err), err);
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw nbdkit::Error(std::string("data: <(SCRIPT): fork: ") + std::strerror(err), err);
  }
  if (pid == 0) {
    // The child: stdout is the pipe; the server may ignore SIGPIPE, but a
    // script stopped early should die of it quietly.
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  bool finished = false;
  std::exception_ptr failure;
  try {
    finished = read_all(pipe_fds[0], limit, sink, "<(SCRIPT)");
  } catch (...) {
    failure = std::current_exception();
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (failure) std::rethrow_exception(failure);
  if (finished && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    throw nbdkit::Error("data: <(SCRIPT): the script failed (" +
                        (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                           : "killed by signal " + std::to_string(WTERMSIG(status))) +
                        ")");
  }
}

}  // namespace data
