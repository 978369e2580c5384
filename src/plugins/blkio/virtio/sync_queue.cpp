#include "virtio/sync_queue.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace blkio::virtio {

SyncQueue::SyncQueue(SplitQueue& ring, const AddressMap& map, uint8_t* slots, int kick_fd,
                     int call_fd, int watch_fd)
    : engine_(ring, map, slots), kick_fd_(kick_fd), call_fd_(call_fd), watch_fd_(watch_fd) {
  in_flight_.reserve(ring.size());
  ring.disable_calls();
}

void SyncQueue::kick() {
  const uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, which
  // leaves it signalled anyway.
  [[maybe_unused]] const ssize_t n = ::write(kick_fd_, &one, sizeof one);
}

void SyncQueue::finish_locked(Waiter* w, int ret) {
  // Unlink from in_flight_ by swapping with the last entry.
  Waiter* last = in_flight_.back();
  in_flight_[w->index] = last;
  last->index = w->index;
  in_flight_.pop_back();
  w->ret = ret;
  w->state.store(done, std::memory_order_release);
  w->state.notify_one();
}

void SyncQueue::wake_space_waiters_locked() {
  if (space_waiters_ == 0) return;
  space_seq_.fetch_add(1, std::memory_order_release);
  space_seq_.notify_all();
}

void SyncQueue::reap_locked() {
  Completion c;
  bool any = false;
  while (engine_.reap(c)) {
    finish_locked(reinterpret_cast<Waiter*>(c.tag), c.ret);
    any = true;
  }
  if (any) wake_space_waiters_locked();
}

void SyncQueue::fail_all(int err) {
  std::lock_guard lock(mutex_);
  failed_.store(err, std::memory_order_release);
  while (!in_flight_.empty()) finish_locked(in_flight_.back(), -err);
  space_seq_.fetch_add(1, std::memory_order_release);
  space_seq_.notify_all();
}

// The reaper's sleep: until the device signals a completion or goes away.
void SyncQueue::wait_for_device(std::unique_lock<std::mutex>& lock) {
  SplitQueue& ring = engine_.queue();
  if (ring.enable_calls()) {  // completions arrived meanwhile: no sleep
    ring.disable_calls();
    return;
  }
  lock.unlock();
  // Only a hang-up counts on the watched socket: another thread may be
  // reading a control reply on it.
  pollfd fds[2] = {{call_fd_, POLLIN, 0}, {watch_fd_, POLLRDHUP, 0}};
  int n;
  do n = ::poll(fds, watch_fd_ == -1 ? 1 : 2, -1);
  while (n == -1 && errno == EINTR);
  if (fds[0].revents & POLLIN) {
    uint64_t count;
    [[maybe_unused]] const ssize_t got = ::read(call_fd_, &count, sizeof count);
  }
  const bool gone = watch_fd_ != -1 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR));
  if (gone && !(fds[0].revents & POLLIN)) fail_all(EIO);
  lock.lock();
  ring.disable_calls();
}

int SyncQueue::submit_locked(Request& r, std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (const int f = failed_.load(std::memory_order_acquire)) return -f;
    const int e = engine_.submit(r);
    if (e != -EAGAIN) return e;
    // The ring is full: reap if nobody does, else wait for space.
    if (!reaper_active_) {
      reaper_active_ = true;
      wait_for_device(lock);
      reaper_active_ = false;
      reap_locked();
      continue;
    }
    const uint32_t seq = space_seq_.load(std::memory_order_acquire);
    ++space_waiters_;
    lock.unlock();
    space_seq_.wait(seq, std::memory_order_acquire);
    lock.lock();
    --space_waiters_;
  }
}

int SyncQueue::execute(Request r) {
  Waiter w;
  r.tag = reinterpret_cast<uintptr_t>(&w);
  std::unique_lock lock(mutex_);
  if (const int e = submit_locked(r, lock); e) return e;
  w.index = in_flight_.size();
  in_flight_.push_back(&w);
  if (engine_.kick_needed()) {
    lock.unlock();
    kick();
    lock.lock();
  }
  for (;;) {
    reap_locked();
    if (w.state.load(std::memory_order_acquire) == done) break;
    if (!reaper_active_) {
      reaper_active_ = true;
      wait_for_device(lock);
      reaper_active_ = false;
      continue;
    }
    lock.unlock();
    w.state.wait(pending, std::memory_order_acquire);
    lock.lock();
    // Promoted: the reaper left; loop to take its place.
    if (w.state.load(std::memory_order_acquire) == promoted) w.state.store(pending);
  }
  // Our request is done; someone must keep reaping for the others.
  if (!reaper_active_ && !in_flight_.empty()) {
    Waiter* next = in_flight_.back();
    next->state.store(promoted, std::memory_order_release);
    next->state.notify_one();
  }
  return w.ret;
}

}  // namespace blkio::virtio
