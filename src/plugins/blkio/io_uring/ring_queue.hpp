// What the io_uring and nvme-io_uring drivers' queues share: one io_uring
// ring per queue, a pool of requests, a backlog for requests that do not
// fit in the submission ring, libblkio's checks when a request is queued
// (read-only, alignment) and the do_io() loop that submits and reaps.
// A driver's queue says how a request becomes a submission entry
// (prepare) and what a completion means (complete): done, or back to the
// backlog for the rest of the request.
#pragma once

#include <liburing.h>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "../driver.hpp"

namespace blkio {

// What a queue needs to know about the open file or device.
struct RingTarget {
  int fd = -1;
  bool read_only = false;
  uint32_t alignment = 1;      // offsets and lengths
  uint32_t buf_alignment = 1;  // buffer addresses
};

class RingQueue : public Queue {
 public:
  // `setup_flags` are IORING_SETUP_* flags the ring must have (0, or
  // SQE128|CQE32 for NVMe passthrough).  Throws Error.
  RingQueue(const RingTarget& target, unsigned entries, unsigned setup_flags);
  ~RingQueue() override;

  void read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) final;
  void write(uint64_t start, const void* buf, size_t len, void* user_data, uint32_t flags) final;
  void write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) final;
  void discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) final;
  void flush(void* user_data, uint32_t flags) final;
  int do_io(Completion* completions, int min, int max, timespec* timeout) final;

 protected:
  enum class Op : uint8_t { read, write, write_zeroes, discard, flush, sync_after };
  struct Request {
    Op op;
    uint32_t flags;
    uint64_t start;
    char* buf;
    uint64_t len;
    uint64_t done;  // bytes finished so far (requests carried out in pieces)
    void* user_data;
    // Data the kernel reads while the request is in flight (NVMe: the
    // Dataset Management range).
    alignas(16) uint8_t payload[16];
  };

  // A result to complete the request with at once, without the kernel
  // (-ENOTSUP for an operation the device lacks, 0 for a flush it does
  // not need), or nullopt to submit it.
  virtual std::optional<int> result_without_kernel(const Request&) const { return std::nullopt; }
  // Fills `sqe` for (the next piece of) `r`; `fd` is the descriptor or
  // registered-file index to use (the base sets IOSQE_FIXED_FILE and the
  // user data afterwards).
  virtual void prepare(io_uring_sqe* sqe, Request* r, int fd) = 0;
  // Handles the kernel's completion of `r`: deliver() it, or resubmit()
  // it for the rest.
  virtual void complete(Request* r, const io_uring_cqe& cqe) = 0;

  void deliver(Request* r, int ret);
  void resubmit(Request* r) { backlog_.push_back(r); }
  const RingTarget& target() const { return target_; }
  void set_read_only(bool read_only) { target_.read_only = read_only; }

 private:
  Request* new_request(Op op, uint64_t start, void* buf, uint64_t len, void* user_data,
                       uint32_t flags);
  // Queues `r`, or completes it at once when the checks or the driver say so.
  void enqueue(Request* r, bool checked_write, const void* buf);
  bool misaligned(uint64_t start, uint64_t len, const void* buf) const;
  void fill_ring();
  int take_ready(Completion* out, int max);
  int wait(timespec* timeout);

  RingTarget target_;
  io_uring ring_{};
  int fd_index_ = -1;  // registered file, or -1 to use target_.fd
  std::vector<std::unique_ptr<Request>> all_;
  std::vector<Request*> free_;
  std::deque<Request*> backlog_;
  std::deque<Completion> ready_;
  int outstanding_ = 0;  // queued, in the kernel, or ready but not yet returned
};

}  // namespace blkio
