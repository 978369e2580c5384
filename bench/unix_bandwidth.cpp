// Raw Unix stream socket bandwidth: the ceiling for NBD over a Unix socket
// on this machine.  One process writes CHUNK-byte buffers into a socket
// pair for SECONDS, the other reads them, as a server sending read replies
// and a client receiving them would.  Prints bytes per second.
//
// Usage: unix_bandwidth [SECONDS [CHUNK]]   (defaults 5 s, 1 MiB)

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Reads until the writer closes; reports the byte count through the pipe.
void run_reader(int socket, int result_pipe, size_t chunk) {
  std::vector<char> buffer(chunk);
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(socket, buffer.data(), buffer.size());
    if (n < 0) die("read");
    if (n == 0) break;
    total += static_cast<unsigned long long>(n);
  }
  if (write(result_pipe, &total, sizeof total) != sizeof total) die("write result");
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  const size_t chunk = argc > 2 ? std::strtoul(argv[2], nullptr, 0) : 1 << 20;
  if (seconds <= 0 || chunk == 0) {
    std::fprintf(stderr, "usage: unix_bandwidth [SECONDS [CHUNK]]\n");
    return 2;
  }

  int sockets[2];
  int result_pipe[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) < 0) die("socketpair");
  if (pipe(result_pipe) < 0) die("pipe");

  const pid_t reader = fork();
  if (reader < 0) die("fork");
  if (reader == 0) {
    close(sockets[0]);
    run_reader(sockets[1], result_pipe[1], chunk);
    _exit(0);
  }
  close(sockets[1]);

  std::vector<char> buffer(chunk, 'x');
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    size_t done = 0;
    while (done < chunk) {
      ssize_t n = write(sockets[0], buffer.data() + done, chunk - done);
      if (n < 0) die("write");
      done += static_cast<size_t>(n);
    }
  }
  close(sockets[0]);

  unsigned long long total = 0;
  if (read(result_pipe[0], &total, sizeof total) != sizeof total) die("read result");
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  waitpid(reader, nullptr, 0);
  std::printf("%.0f\n", static_cast<double>(total) / elapsed);
  return 0;
}
