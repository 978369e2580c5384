// Turns block requests into virtio-blk descriptor chains on one split
// virtqueue and completions back into results.  Each descriptor index owns
// a small slot of device-visible memory for the request header, the
// discard/write-zeroes segment and the status byte, so a request needs no
// allocation.  Not thread-safe: the caller serialises access per queue.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "address_map.hpp"
#include "blk.hpp"
#include "split_queue.hpp"

namespace blkio::virtio {

enum class Op { read, write, flush, write_zeroes, discard, get_id };

struct Request {
  Op op = Op::read;
  uint64_t offset = 0;          // bytes, a multiple of 512
  std::span<const iovec> iov;   // read/write/get_id data, inside mapped memory
  uint64_t len = 0;             // write_zeroes/discard length in bytes
  bool unmap = false;           // write_zeroes may deallocate
  uint64_t tag = 0;             // given back in the completion
};

struct Completion {
  uint64_t tag;
  int ret;  // 0 or a negative errno
};

class BlkEngine {
 public:
  static constexpr size_t slot_bytes = 48;

  // `slots` is queue.size() * slot_bytes bytes inside `map`.
  BlkEngine(SplitQueue& queue, const AddressMap& map, uint8_t* slots);

  // Queues a request.  0; -EAGAIN when the queue has too few free
  // descriptors (reap first); -EFAULT when a buffer is not in mapped memory;
  // -EINVAL for a malformed request (unaligned, too long).
  int submit(const Request& r);
  // Whether the device must be notified of what was submitted.
  bool kick_needed() { return queue_.kick_needed(); }
  bool reap(Completion& c);
  SplitQueue& queue() { return queue_; }

 private:
  // Slot layout: header at 0, range segment at 16, status byte at 32.
  static constexpr size_t header_at = 0, segment_at = 16, status_at = 32;
  uint8_t* slot(uint16_t head) { return slots_ + size_t{head} * slot_bytes; }
  uint64_t slot_addr(uint16_t head, size_t at) const {
    return slots_device_addr_ + size_t{head} * slot_bytes + at;
  }
  int build(const Request& r, uint16_t head, std::vector<Segment>& segs);

  SplitQueue& queue_;
  const AddressMap& map_;
  uint8_t* slots_;
  uint64_t slots_device_addr_;
  std::vector<uint64_t> tags_;
  std::vector<Segment> segs_;  // reused between submits
};

}  // namespace blkio::virtio
