// A virtqueue shared by many threads that each run one request at a time
// and wait for it (the server's worker threads).  There is no completion
// thread: the threads waiting take turns at reaping.  One of them (the
// reaper) sleeps on the queue's call eventfd, hands out every completion it
// finds, and when its own request is done passes the role to another
// waiter.  A thread whose request the reaper completed is woken directly,
// so a request costs one wake-up at most, none when the submitting thread
// reaps its own completion.
//
// Transports signal with eventfds (vhost-user, vhost-vdpa): `kick_fd` is
// written to notify the device, `call_fd` is read after the device
// signalled.  `watch_fd`, if not -1, is a descriptor that becomes readable
// or hangs up when the device is gone (the vhost-user socket): every
// request in flight then fails with EIO instead of waiting forever.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "virtio/blk_engine.hpp"

namespace blkio::virtio {

class SyncQueue {
 public:
  SyncQueue(SplitQueue& ring, const AddressMap& map, uint8_t* slots, int kick_fd, int call_fd,
            int watch_fd);

  // Runs one request to completion: 0 or a negative errno.
  int execute(Request r);
  // Fails every request in flight and every later one with `err`.
  void fail_all(int err);
  bool failed() const { return failed_.load(std::memory_order_acquire) != 0; }

 private:
  struct Waiter {
    std::atomic<int> state{pending};
    int ret = 0;
    size_t index = 0;  // position in in_flight_
  };
  static constexpr int pending = 0, done = 1, promoted = 2;

  int submit_locked(Request& r, std::unique_lock<std::mutex>& lock);
  void reap_locked();
  void finish_locked(Waiter* w, int ret);
  void wake_space_waiters_locked();
  void kick();
  void wait_for_device(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  BlkEngine engine_;
  std::vector<Waiter*> in_flight_;  // owners of the requests on the ring
  bool reaper_active_ = false;
  size_t space_waiters_ = 0;       // threads waiting for free descriptors
  std::atomic<uint32_t> space_seq_{0};
  std::atomic<int> failed_{0};
  int kick_fd_, call_fd_, watch_fd_;
};

}  // namespace blkio::virtio
