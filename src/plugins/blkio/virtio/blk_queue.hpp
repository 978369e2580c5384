// A libblkio-style queue (driver.hpp's blkio::Queue) over one virtio-blk
// virtqueue: requests are checked and queued by the calls, do_io() puts
// them on the ring, notifies the device and waits on the call eventfd.
// Shared by the virtio-blk transports that signal with eventfds.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "driver.hpp"
#include "virtio/blk.hpp"
#include "virtio/blk_engine.hpp"

namespace blkio::virtio {

struct QueueSetup {
  SplitQueue* ring;
  const AddressMap* map;
  uint8_t* slots;
  int kick_fd;
  int call_fd;
  int watch_fd;  // hangs up when the device is gone; -1 for none
  const char* gone_message;  // logged when it does
  Limits limits;
  bool read_only;
};

class BlkQueue final : public blkio::Queue {
 public:
  explicit BlkQueue(const QueueSetup& setup);

  void read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) override;
  void write(uint64_t start, const void* buf, size_t len, void* user_data,
             uint32_t flags) override;
  void write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void flush(void* user_data, uint32_t flags) override;
  int do_io(blkio::Completion* completions, int min, int max, timespec* timeout) override;

 private:
  // One request from enqueue until do_io hands back its completion.
  struct Pending {
    void* user_data;
    Request request;
    iovec iov;
    bool flush_after;  // FUA emulated: a flush once the write succeeded
  };
  void enqueue(Op op, uint64_t start, void* buf, uint64_t len, void* user_data, uint32_t flags);
  void complete(void* user_data, int ret);
  bool check_range(uint64_t start, uint64_t len, void* user_data);
  void submit_backlog();
  void reap();
  // Sleeps until the device signals, the timeout passes (false) or the
  // device hangs up (every outstanding request then fails).
  bool wait(const timespec* deadline);
  void fail_outstanding(int err);
  size_t new_slot();

  QueueSetup s_;
  BlkEngine engine_;
  std::deque<Pending> slots_;        // by Request::tag; a deque keeps `iov` in place
  std::vector<size_t> free_slots_;
  std::deque<size_t> backlog_;       // queued, not yet on the ring
  std::vector<blkio::Completion> ready_;
  size_t outstanding_ = 0;           // queued and not yet returned by do_io
  int failed_ = 0;                   // errno once the device is gone
};

}  // namespace blkio::virtio
