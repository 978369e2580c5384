// The two directions of the streaming plugin: turning a client's writes
// into a byte stream, and serving a byte stream to a client's reads.
//
// Clients keep several requests in flight and the server may run them in
// any order, so a stream that the client produces strictly front to back
// can still arrive slightly out of order.  Both directions therefore keep a
// bounded window in memory: the writer holds writes above the point reached
// in the stream until the gap before them is filled, the reader keeps bytes
// it skipped over in case a read for them is still on its way.
//
// Anything the window cannot absorb (a write below what has already gone
// into the stream, a read of bytes no longer held) breaks the stream for
// good: the reason is logged once and every later call fails with EIO.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "pipe_end.hpp"

namespace streaming {

// Memory each direction may use for out-of-order requests.
inline constexpr uint64_t default_window = uint64_t{64} << 20;

class StreamWriter {
 public:
  StreamWriter(std::unique_ptr<PipeEnd> pipe, uint64_t window);

  // All return 0 or a positive errno value.
  int write(const void* buf, uint32_t count, uint64_t offset);
  int zero(uint32_t count, uint64_t offset);
  // Sends every accepted write into the stream; a gap still open is
  // treated as skipped by the client and streamed as zeroes.
  int flush();
  // Succeeds with zeroes at or above the end of the highest write accepted.
  int read(void* buf, uint32_t count, uint64_t offset);

  bool broken() const;

 private:
  struct Pending {
    uint64_t length;
    std::vector<char> data;  // empty: zeroes
  };

  // `data` == nullptr means zeroes.
  int accept(const void* data, uint32_t count, uint64_t offset);
  int emit(const void* data, uint64_t count);
  int emit_contiguous_pending();
  int emit_lowest_pending();
  int break_stream(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  std::unique_ptr<PipeEnd> pipe_;
  const uint64_t window_;
  mutable std::mutex mutex_;
  uint64_t streamed_ = 0;  // bytes that have gone into the stream
  uint64_t highest_ = 0;   // end of the highest write accepted
  std::map<uint64_t, Pending> pending_;  // above streamed_, not overlapping
  uint64_t pending_bytes_ = 0;           // memory held by pending_
  bool broken_ = false;
};

class StreamReader {
 public:
  StreamReader(std::unique_ptr<PipeEnd> pipe, uint64_t window);

  // Returns 0 or a positive errno value.
  int read(void* buf, uint32_t count, uint64_t offset);

  bool broken() const;

 private:
  bool copy_held(char* out, uint64_t from, uint64_t to) const;
  int skip_to(uint64_t offset);
  void remember_head(const char* data, uint64_t count, uint64_t offset);
  int break_stream(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  std::unique_ptr<PipeEnd> pipe_;
  const uint64_t window_;
  mutable std::mutex mutex_;
  uint64_t consumed_ = 0;  // bytes taken from the stream
  // The first bytes of the stream, kept so that a client probing the
  // image format (qemu-img without -f) can read them again.
  std::vector<char> head_;
  // Bytes the client jumped over, by stream offset, oldest evicted first.
  std::map<uint64_t, std::vector<char>> skipped_;
  uint64_t skipped_bytes_ = 0;
  bool broken_ = false;
};

}  // namespace streaming
