// A queue of the io_uring driver: one io_uring ring.  Requests wait in a
// backlog while the submission ring is full; short reads and writes are
// resubmitted for the rest; write-zeroes with FUA gets an fdatasync once
// the fallocate is done.
#pragma once

#include <liburing.h>

#include <deque>
#include <memory>
#include <vector>

#include "../driver.hpp"

namespace blkio {

// What a queue needs to know about the open file.
struct IoUringTarget {
  int fd = -1;
  bool block_device = false;
  bool read_only = false;
  bool can_grow = false;       // a read past EOF reads zeroes (files)
  uint32_t alignment = 1;      // offsets and lengths (O_DIRECT)
  uint32_t buf_alignment = 1;  // buffer addresses (O_DIRECT)
};

class IoUringQueue final : public Queue {
 public:
  // Throws Error.
  IoUringQueue(const IoUringTarget& target, unsigned entries);
  ~IoUringQueue() override;

  void read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) override;
  void write(uint64_t start, const void* buf, size_t len, void* user_data,
             uint32_t flags) override;
  void write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void flush(void* user_data, uint32_t flags) override;
  int do_io(Completion* completions, int min, int max, timespec* timeout) override;

 private:
  enum class Op : uint8_t { read, write, write_zeroes, discard, flush, sync_after };
  struct Request {
    Op op;
    uint32_t flags;
    uint64_t start;
    char* buf;
    uint64_t len;
    uint64_t done;  // bytes read or written so far
    void* user_data;
  };

  Request* new_request(Op op, uint64_t start, void* buf, uint64_t len, void* user_data,
                       uint32_t flags);
  // Completes a request at once, without the kernel.
  void finish_now(Request* r, int ret);
  bool misaligned(uint64_t start, uint64_t len, const void* buf) const;
  void prepare(io_uring_sqe* sqe, Request* r);
  void fill_ring();
  // Handles one completion from the kernel: either the request is done
  // (its completion is stored) or it goes back to the backlog.
  void complete(Request* r, int res);
  void deliver(Request* r, int ret);
  int take_ready(Completion* out, int max);
  int wait(timespec* timeout);

  IoUringTarget target_;
  io_uring ring_{};
  int fd_index_ = -1;  // registered file, or -1 to use target_.fd
  std::vector<std::unique_ptr<Request>> all_;
  std::vector<Request*> free_;
  std::deque<Request*> backlog_;
  std::deque<Completion> ready_;
  int outstanding_ = 0;  // queued, in the kernel, or ready but not yet returned
  int in_kernel_ = 0;
};

}  // namespace blkio
