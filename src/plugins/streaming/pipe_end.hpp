// The far end of the stream that the streaming plugin writes to or reads
// from: a FIFO, a connected Unix socket, a character device, or (reading
// only) a regular file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace streaming {

class PipeEnd {
 public:
  enum class Direction { write, read };

  // Opens `path`, creating it as a FIFO when it does not exist.  A FIFO
  // opened for writing that has no reader yet is opened later, by the first
  // write, which waits up to reader_timeout_ns for a reader to appear.
  // Throws nbdkit::Error.
  PipeEnd(std::string path, Direction direction, uint64_t reader_timeout_ns);
  ~PipeEnd();
  PipeEnd(const PipeEnd&) = delete;
  PipeEnd& operator=(const PipeEnd&) = delete;

  const std::string& path() const { return path_; }

  // Data calls return 0 or a positive errno value, having logged why.
  // `data` == nullptr writes zeroes.
  int write_all(const void* data, uint64_t count);
  // Fails at end of stream.
  int read_exact(void* buf, size_t count);

 private:
  int open_fifo_for_writing();
  int wait_for_reader();
  // Waits until fd_ is ready for `events`; fails when the server is
  // shutting down (only when interruptible).
  int wait_ready(short events, bool interruptible);
  int end_of_stream();

  std::string path_;
  Direction direction_;
  uint64_t reader_timeout_ns_;
  int fd_ = -1;
  bool is_fifo_ = false;
  bool is_socket_ = false;
};

}  // namespace streaming
