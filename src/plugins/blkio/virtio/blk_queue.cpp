#include "virtio/blk_queue.hpp"

#include <poll.h>
#include <unistd.h>

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

}  // namespace

BlkQueue::BlkQueue(const QueueSetup& setup)
    : s_(setup), engine_(*setup.ring, *setup.map, setup.slots) {
  s_.ring->disable_calls();
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
  ready_.push_back({user_data, ret, failed_ ? s_.gone_message : nullptr});
}

bool BlkQueue::check_range(uint64_t start, uint64_t len, void* user_data) {
  const uint64_t align = uint64_t(s_.limits.request_alignment);
  if (start % align || len % align) {
    ++outstanding_;
    complete(user_data, -EINVAL);
    return false;
  }
  return true;
}

void BlkQueue::enqueue(Op op, uint64_t start, void* buf, uint64_t len, void* user_data,
                       uint32_t flags) {
  ++outstanding_;
  if (failed_) return complete(user_data, -failed_);
  const size_t i = new_slot();
  Pending& p = slots_[i];
  p.user_data = user_data;
  p.iov = {buf, size_t(len)};
  p.request = Request{};
  p.request.op = op;
  p.request.offset = start;
  p.request.tag = i;
  if (op == Op::read || op == Op::write)
    p.request.iov = std::span(&p.iov, 1);
  else
    p.request.len = len;
  p.request.unmap = op == Op::write_zeroes && !(flags & req::no_unmap);
  // virtio-blk has no FUA: a flush follows, as libblkio does.
  p.flush_after = (flags & req::fua) && s_.limits.can_flush &&
                  (op == Op::write || op == Op::write_zeroes);
  backlog_.push_back(i);
}

void BlkQueue::read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) {
  if (check_range(start, len, user_data)) enqueue(Op::read, start, buf, len, user_data, flags);
}

void BlkQueue::write(uint64_t start, const void* buf, size_t len, void* user_data,
                     uint32_t flags) {
  if (s_.read_only) {
    ++outstanding_;
    return complete(user_data, -EBADF);
  }
  if (check_range(start, len, user_data))
    enqueue(Op::write, start, const_cast<void*>(buf), len, user_data, flags);
}

void BlkQueue::write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  if (s_.read_only || !s_.limits.can_write_zeroes) {
    ++outstanding_;
    return complete(user_data, s_.read_only ? -EBADF : -ENOTSUP);
  }
  if (check_range(start, len, user_data))
    enqueue(Op::write_zeroes, start, nullptr, len, user_data, flags);
}

void BlkQueue::discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  if (s_.read_only || !s_.limits.can_discard) {
    ++outstanding_;
    return complete(user_data, s_.read_only ? -EBADF : -ENOTSUP);
  }
  if (check_range(start, len, user_data))
    enqueue(Op::discard, start, nullptr, len, user_data, flags);
}

void BlkQueue::flush(void* user_data, uint32_t flags) {
  if (!s_.limits.can_flush) {  // no volatile cache to write back
    ++outstanding_;
    return complete(user_data, 0);
  }
  enqueue(Op::flush, 0, nullptr, 0, user_data, flags);
}

void BlkQueue::submit_backlog() {
  bool submitted = false;
  while (!backlog_.empty()) {
    const size_t i = backlog_.front();
    const int r = engine_.submit(slots_[i].request);
    if (r == -EAGAIN) break;
    backlog_.pop_front();
    if (r != 0) {  // refused before reaching the device (buffer outside regions...)
      complete(slots_[i].user_data, r);
      free_slots_.push_back(i);
      continue;
    }
    submitted = true;
  }
  if (submitted && engine_.kick_needed()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(s_.kick_fd, &one, sizeof one);
  }
}

void BlkQueue::reap() {
  Completion c;
  while (engine_.reap(c)) {
    const size_t i = size_t(c.tag);
    Pending& p = slots_[i];
    if (c.ret == 0 && p.flush_after) {
      p.flush_after = false;
      p.request = Request{};
      p.request.op = Op::flush;
      p.request.tag = i;
      backlog_.push_front(i);
      continue;
    }
    complete(p.user_data, c.ret);
    free_slots_.push_back(i);
  }
}

void BlkQueue::fail_outstanding(int err) {
  nbdkit::error("%s", s_.gone_message);
  failed_ = err;
  // Everything not yet completed: on the ring or in the backlog.
  std::vector<bool> done(slots_.size(), false);
  for (size_t i : free_slots_) done[i] = true;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (done[i]) continue;
    complete(slots_[i].user_data, -err);
    free_slots_.push_back(i);
  }
  backlog_.clear();
}

bool BlkQueue::wait(const timespec* deadline) {
  if (s_.ring->enable_calls()) {
    s_.ring->disable_calls();
    return true;
  }
  pollfd fds[2] = {{s_.call_fd, POLLIN, 0}, {s_.watch_fd, POLLRDHUP, 0}};
  int n;
  do n = ::poll(fds, s_.watch_fd == -1 ? 1 : 2, deadline ? ms_until(*deadline) : -1);
  while (n == -1 && errno == EINTR);
  s_.ring->disable_calls();
  if (n == 0) return false;
  if (fds[0].revents & POLLIN) {
    uint64_t count;
    [[maybe_unused]] const ssize_t got = ::read(s_.call_fd, &count, sizeof count);
  } else if (s_.watch_fd != -1 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
    fail_outstanding(EIO);
  }
  return true;
}

int BlkQueue::do_io(blkio::Completion* completions, int min, int max, timespec* timeout) {
  if (min < 0 || max < min || size_t(min) > outstanding_) return -EINVAL;
  const timespec deadline = timeout ? deadline_after(*timeout) : timespec{};
  for (;;) {
    submit_backlog();
    reap();
    if (!backlog_.empty()) submit_backlog();  // flushes after FUA writes
    if (ready_.size() >= size_t(min)) break;
    if (!wait(timeout ? &deadline : nullptr)) {
      reap();
      if (ready_.size() >= size_t(min)) break;
      return -ETIME;
    }
  }
  const size_t n = std::min(ready_.size(), size_t(max));
  for (size_t i = 0; i < n; ++i) completions[i] = ready_[i];
  ready_.erase(ready_.begin(), ready_.begin() + std::ptrdiff_t(n));
  outstanding_ -= n;
  return int(n);
}

}  // namespace blkio::virtio
