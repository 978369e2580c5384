// A queue of the io_uring driver: plain reads, writes, fallocate and
// fsync on one io_uring ring (see ring_queue.hpp).  Short reads and
// writes are resubmitted for the rest; write-zeroes with FUA gets an
// fdatasync once the fallocate is done.
#pragma once

#include "ring_queue.hpp"

namespace blkio {

// What a queue needs to know about the open file.
struct IoUringTarget : RingTarget {
  bool can_grow = false;  // a read past EOF reads zeroes (files)
};

class IoUringQueue final : public RingQueue {
 public:
  // Throws Error.
  IoUringQueue(const IoUringTarget& target, unsigned entries)
      : RingQueue(target, entries, 0), can_grow_(target.can_grow) {}

 private:
  void prepare(io_uring_sqe* sqe, Request* r, int fd) override;
  void complete(Request* r, const io_uring_cqe& cqe) override;

  bool can_grow_;
};

}  // namespace blkio
