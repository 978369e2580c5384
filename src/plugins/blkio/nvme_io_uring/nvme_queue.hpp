// A queue of the nvme-io_uring driver: NVMe I/O commands passed through
// the namespace's generic character device on an io_uring ring with
// 128-byte submission and 32-byte completion entries (see
// ring_queue.hpp for what all io_uring queues share).
//
// A request larger than one command may carry (max-transfer for reads
// and writes, 65536 blocks for Write Zeroes, 2^32-1 blocks for a
// Dataset Management range) goes to the device in pieces, one after
// another; the plugin splits at the same limits already, so this only
// serves other callers of the queue.
#pragma once

#include "../io_uring/ring_queue.hpp"

namespace blkio {

struct NvmeTarget : RingTarget {
  uint32_t nsid = 1;
  uint32_t lba_shift = 9;
  uint64_t max_transfer = 0;  // bytes per Read or Write
  bool write_zeroes = false;  // the controller has Write Zeroes
  bool deallocate = false;    // ... and Dataset Management
  bool flush = false;         // ... and a volatile write cache to flush
};

class NvmeQueue final : public RingQueue {
 public:
  // Throws Error.
  NvmeQueue(const NvmeTarget& target, unsigned entries);

  // The bytes of a `remaining`-byte request the next command carries.
  static uint64_t piece(uint64_t remaining, uint64_t limit) {
    return remaining < limit ? remaining : limit;
  }

 private:
  std::optional<int> result_without_kernel(const Request& r) const override;
  void prepare(io_uring_sqe* sqe, Request* r, int fd) override;
  void complete(Request* r, const io_uring_cqe& cqe) override;
  // Bytes one command of this kind may carry.
  uint64_t limit(const Request& r) const;

  NvmeTarget nvme_;
};

}  // namespace blkio
