#include "virtio/blk_queue.hpp"

#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include <nbdkit/services.hpp>

namespace blkio::virtio {

namespace {

timespec deadline_after(const timespec& t) {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  now.tv_sec += t.tv_sec;
  now.tv_nsec += t.tv_nsec;
  if (now.tv_nsec >= 1000000000) {
    now.tv_nsec -= 1000000000;
    ++now.tv_sec;
  }
  return now;
}

// Milliseconds left until `deadline` (rounded up), 0 once passed.
int ms_until(const timespec& deadline) {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t ns = (deadline.tv_sec - now.tv_sec) * 1000000000LL +
                     (deadline.tv_nsec - now.tv_nsec);
  if (ns <= 0) return 0;
  const int64_t ms = (ns + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : int(ms);
}

// std::atomic's wait has no timeout: the futex it is built on does.
uint32_t* futex_word(std::atomic<uint32_t>& a) { return reinterpret_cast<uint32_t*>(&a); }

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, int timeout_ms) {
  timespec ts{timeout_ms / 1000, long(timeout_ms % 1000) * 1000000};
  ::syscall(SYS_futex, futex_word(word), FUTEX_WAIT_PRIVATE, expected,
            timeout_ms < 0 ? nullptr : &ts, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& word) {
  ::syscall(SYS_futex, futex_word(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

uint64_t make_tag(uint32_t lane, size_t slot) { return uint64_t{lane} << 32 | slot; }

}  // namespace

// ---- the shared virtqueue ---------------------------------------------------

SharedRing::SharedRing(const RingSetup& setup)
    : s_(setup), engine_(*setup.ring, *setup.map, setup.slots) {
  s_.ring->disable_calls();
}

void SharedRing::kick() {
  if (s_.notify_mmio) {
    // The ring updates were published with a full barrier in kick_needed().
    *s_.notify_mmio = s_.notify_value;
    return;
  }
  const uint64_t one = 1;
  // An eventfd write fails only when the counter would overflow, which
  // leaves it signalled anyway.
  [[maybe_unused]] const ssize_t n = ::write(s_.kick_fd, &one, sizeof one);
}

void SharedRing::reap_locked() {
  Completion c;
  while (engine_.reap(c)) {
    BlkQueue* lane = lanes_[size_t(c.tag >> 32)];
    lane->arrived_.emplace_back(size_t(c.tag & 0xffffffff), c.ret);
    if (lane->sleeping_) lane->wake();
  }
}

void SharedRing::wake_one_sleeper_locked() {
  for (BlkQueue* lane : lanes_) {
    if (lane->sleeping_) return lane->wake();
  }
}

bool SharedRing::wait_for_device(std::unique_lock<std::mutex>& lock, int timeout_ms) {
  SplitQueue& ring = engine_.queue();
  if (ring.enable_calls()) {  // completions arrived meanwhile: no sleep
    ring.disable_calls();
    return true;
  }
  lock.unlock();
  // Only a hang-up counts on the watched socket: another thread may be
  // reading a control reply on it.
  pollfd fds[2] = {{s_.call_fd, POLLIN, 0}, {s_.watch_fd, POLLRDHUP, 0}};
  int n;
  do n = ::poll(fds, s_.watch_fd == -1 ? 1 : 2, timeout_ms);
  while (n == -1 && errno == EINTR);
  if (fds[0].revents & POLLIN) {
    uint64_t count;
    [[maybe_unused]] const ssize_t got = ::read(s_.call_fd, &count, sizeof count);
  }
  lock.lock();
  ring.disable_calls();
  const bool gone = s_.watch_fd != -1 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR));
  if (gone && !(fds[0].revents & POLLIN) && !failed_) {
    nbdkit::error("%s", s_.gone_message);
    failed_ = EIO;
    for (BlkQueue* lane : lanes_)
      if (lane->sleeping_) lane->wake();
  }
  return n != 0;
}

// ---- one lane -----------------------------------------------------------------

BlkQueue::BlkQueue(SharedRing& ring, const Limits& limits, bool read_only)
    : ring_(ring), limits_(limits), read_only_(read_only) {
  std::lock_guard lock(ring_.mutex_);
  index_ = uint32_t(ring_.lanes_.size());
  ring_.lanes_.push_back(this);
}

size_t BlkQueue::new_slot() {
  if (free_slots_.empty()) {
    slots_.emplace_back();
    return slots_.size() - 1;
  }
  const size_t i = free_slots_.back();
  free_slots_.pop_back();
  return i;
}

void BlkQueue::complete(void* user_data, int ret) {
  ready_.push_back({user_data, ret, ret == -EIO && ring_.failed_ ? ring_.s_.gone_message : nullptr});
}

// Completes at once with `err` when `cond` holds (a request the device
// cannot take); true if so.
bool BlkQueue::refuse(bool cond, int err, void* user_data) {
  if (!cond) return false;
  ++outstanding_;
  complete(user_data, err);
  return true;
}

bool BlkQueue::check_range(uint64_t start, uint64_t len, void* user_data) {
  const uint64_t align = uint64_t(limits_.request_alignment);
  return !refuse(start % align != 0 || len % align != 0, -EINVAL, user_data);
}

void BlkQueue::enqueue(Op op, uint64_t start, void* buf, uint64_t len, void* user_data,
                       uint32_t flags) {
  ++outstanding_;
  const size_t i = new_slot();
  Pending& p = slots_[i];
  p.user_data = user_data;
  p.iov = {buf, size_t(len)};
  p.request = Request{};
  p.request.op = op;
  p.request.offset = start;
  p.request.tag = make_tag(index_, i);
  if (op == Op::read || op == Op::write)
    p.request.iov = std::span(&p.iov, 1);
  else
    p.request.len = len;
  p.request.unmap = op == Op::write_zeroes && !(flags & req::no_unmap);
  // virtio-blk has no FUA: a flush follows, as libblkio does.
  p.flush_after = (flags & req::fua) && limits_.can_flush &&
                  (op == Op::write || op == Op::write_zeroes);
  p.on_ring = false;
  backlog_.push_back(i);
}

void BlkQueue::read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) {
  if (check_range(start, len, user_data)) enqueue(Op::read, start, buf, len, user_data, flags);
}

void BlkQueue::write(uint64_t start, const void* buf, size_t len, void* user_data,
                     uint32_t flags) {
  if (refuse(read_only_, -EBADF, user_data) || !check_range(start, len, user_data)) return;
  enqueue(Op::write, start, const_cast<void*>(buf), len, user_data, flags);
}

void BlkQueue::write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  if (refuse(read_only_, -EBADF, user_data) ||
      refuse(!limits_.can_write_zeroes, -ENOTSUP, user_data) ||
      !check_range(start, len, user_data))
    return;
  enqueue(Op::write_zeroes, start, nullptr, len, user_data, flags);
}

void BlkQueue::discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  if (refuse(read_only_, -EBADF, user_data) || refuse(!limits_.can_discard, -ENOTSUP, user_data) ||
      !check_range(start, len, user_data))
    return;
  enqueue(Op::discard, start, nullptr, len, user_data, flags);
}

void BlkQueue::flush(void* user_data, uint32_t flags) {
  // No FLUSH feature: no volatile cache to write back.
  if (refuse(!limits_.can_flush, 0, user_data)) return;
  enqueue(Op::flush, 0, nullptr, 0, user_data, flags);
}

void BlkQueue::submit_backlog_locked() {
  bool submitted = false;
  while (!backlog_.empty()) {
    const size_t i = backlog_.front();
    const int r = ring_.engine_.submit(slots_[i].request);
    if (r == -EAGAIN) break;
    backlog_.pop_front();
    if (r != 0) {  // refused before reaching the device (buffer outside regions...)
      complete(slots_[i].user_data, r);
      free_slots_.push_back(i);
      continue;
    }
    slots_[i].on_ring = true;
    submitted = true;
  }
  if (submitted && ring_.engine_.kick_needed()) ring_.kick();
}

void BlkQueue::take_arrivals_locked() {
  for (const auto& [i, ret] : arrived_) {
    Pending& p = slots_[i];
    p.on_ring = false;
    if (ret == 0 && p.flush_after) {
      p.flush_after = false;
      p.request = Request{};
      p.request.op = Op::flush;
      p.request.tag = make_tag(index_, i);
      backlog_.push_front(i);
      continue;
    }
    complete(p.user_data, ret);
    free_slots_.push_back(i);
  }
  arrived_.clear();
}

void BlkQueue::fail_outstanding_locked(int err) {
  std::vector<bool> idle(slots_.size(), false);
  for (size_t i : free_slots_) idle[i] = true;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (idle[i]) continue;
    complete(slots_[i].user_data, -err);
    free_slots_.push_back(i);
  }
  backlog_.clear();
}

void BlkQueue::wake() {
  sleeping_ = false;
  wake_seq_.fetch_add(1, std::memory_order_release);
  futex_wake(wake_seq_);
}

void BlkQueue::sleep(std::unique_lock<std::mutex>& lock, int timeout_ms) {
  sleeping_ = true;
  const uint32_t seq = wake_seq_.load(std::memory_order_acquire);
  lock.unlock();
  futex_wait(wake_seq_, seq, timeout_ms);
  lock.lock();
  sleeping_ = false;
}

int BlkQueue::do_io(blkio::Completion* completions, int min, int max, timespec* timeout) {
  if (min < 0 || max < min || size_t(min) > outstanding_) return -EINVAL;
  const timespec deadline = timeout ? deadline_after(*timeout) : timespec{};
  bool timed_out = false;
  {
    std::unique_lock lock(ring_.mutex_);
    for (;;) {
      ring_.reap_locked();
      take_arrivals_locked();
      if (ring_.failed_) fail_outstanding_locked(ring_.failed_);
      submit_backlog_locked();
      if (ready_.size() >= size_t(min)) break;
      const int wait_ms = timeout ? ms_until(deadline) : -1;
      if (wait_ms == 0) {
        timed_out = true;
        break;
      }
      if (!ring_.reaper_active_) {
        ring_.reaper_active_ = true;
        ring_.wait_for_device(lock, wait_ms);
        ring_.reaper_active_ = false;
      } else {
        sleep(lock, wait_ms);
      }
    }
    // Someone must keep reaping for the lanes still waiting.
    if (!ring_.reaper_active_) ring_.wake_one_sleeper_locked();
  }
  if (timed_out && ready_.size() < size_t(min)) return -ETIME;
  const size_t n = std::min(ready_.size(), size_t(max));
  std::copy_n(ready_.begin(), n, completions);
  ready_.erase(ready_.begin(), ready_.begin() + std::ptrdiff_t(n));
  outstanding_ -= n;
  return int(n);
}

}  // namespace blkio::virtio
