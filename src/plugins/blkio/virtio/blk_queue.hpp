// libblkio-style queues (driver.hpp's blkio::Queue) over virtio-blk
// virtqueues.  Several queues ("lanes") may share one virtqueue: the plugin
// runs one request per queue at a time, and a back end often has a single
// virtqueue (qemu-storage-daemon's default), so lanes are what lets many
// requests be in flight on it at once.
//
// There is no completion thread.  A lane waiting in do_io() either reaps
// the virtqueue itself (the reaper: one at a time, asleep on the call
// eventfd) or sleeps until the reaper hands it a completion.  The reaper
// routes every completion it finds to its lane and wakes that lane's
// thread; when its own request is done it passes the role to a waiting
// lane.  A request thus costs at most one wake-up between our threads, none
// when its own thread reaps it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "driver.hpp"
#include "virtio/blk.hpp"
#include "virtio/blk_engine.hpp"

namespace blkio::virtio {

class BlkQueue;

struct RingSetup {
  SplitQueue* ring;
  const AddressMap* map;
  uint8_t* slots;
  int kick_fd;  // an eventfd to write, or -1 with notify_mmio
  int call_fd;
  int watch_fd;              // hangs up when the device is gone; -1 for none
  const char* gone_message;  // logged when it does
  volatile uint16_t* notify_mmio;  // virtio-pci: the queue's notify register, or null
  uint16_t notify_value;           // what to write there (the queue index)
};

// One virtqueue and the lanes sharing it.
class SharedRing {
 public:
  explicit SharedRing(const RingSetup& setup);

 private:
  friend class BlkQueue;
  void kick();
  // The reaper's sleep; false on timeout.  Called with the lock held;
  // drops it while asleep.
  bool wait_for_device(std::unique_lock<std::mutex>& lock, int timeout_ms);
  void reap_locked();
  void wake_one_sleeper_locked();

  RingSetup s_;
  std::mutex mutex_;
  BlkEngine engine_;
  std::vector<BlkQueue*> lanes_;
  bool reaper_active_ = false;
  int failed_ = 0;  // errno once the device is gone
};

class BlkQueue final : public blkio::Queue {
 public:
  BlkQueue(SharedRing& ring, const Limits& limits, bool read_only);

  void read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) override;
  void write(uint64_t start, const void* buf, size_t len, void* user_data,
             uint32_t flags) override;
  void write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) override;
  void flush(void* user_data, uint32_t flags) override;
  int do_io(blkio::Completion* completions, int min, int max, timespec* timeout) override;

 private:
  friend class SharedRing;
  // One request from enqueue until do_io hands back its completion.
  struct Pending {
    void* user_data;
    Request request;
    iovec iov;
    bool flush_after;  // FUA emulated: a flush once the write succeeded
    bool on_ring;
  };
  void enqueue(Op op, uint64_t start, void* buf, uint64_t len, void* user_data, uint32_t flags);
  void complete(void* user_data, int ret);
  bool refuse(bool cond, int err, void* user_data);
  bool check_range(uint64_t start, uint64_t len, void* user_data);
  size_t new_slot();
  // With the ring's lock held:
  void submit_backlog_locked();
  void take_arrivals_locked();
  void fail_outstanding_locked(int err);
  void sleep(std::unique_lock<std::mutex>& lock, int timeout_ms);
  void wake();

  SharedRing& ring_;
  Limits limits_;
  bool read_only_;
  uint32_t index_;                   // in ring_.lanes_
  std::deque<Pending> slots_;        // by slot number; a deque keeps `iov` in place
  std::vector<size_t> free_slots_;
  std::deque<size_t> backlog_;       // queued, not yet on the ring
  std::vector<blkio::Completion> ready_;
  size_t outstanding_ = 0;           // queued and not yet returned by do_io
  // Shared with the reaper, under ring_.mutex_:
  std::vector<std::pair<size_t, int>> arrived_;  // (slot, ret) reaped for us
  bool sleeping_ = false;
  std::atomic<uint32_t> wake_seq_{0};  // futex word
};

}  // namespace blkio::virtio
