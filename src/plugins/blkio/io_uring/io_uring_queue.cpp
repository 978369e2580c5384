#include "io_uring_queue.hpp"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace blkio {

namespace {

// One read or write never asks the kernel for more than this (it would
// cut it short anyway); the rest is resubmitted.
constexpr uint64_t kMaxChunk = 1u << 30;

}  // namespace

IoUringQueue::IoUringQueue(const IoUringTarget& target, unsigned entries) : target_(target) {
  io_uring_params params{};
  // Completions are reaped by the thread that submitted, so the kernel
  // need not interrupt it to run completion work (Linux 5.19).
  params.flags = IORING_SETUP_COOP_TASKRUN;
  int r = io_uring_queue_init_params(entries, &ring_, &params);
  if (r == -EINVAL) {
    params = io_uring_params{};
    r = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (r < 0) throw Error(-r, std::string("io_uring_queue_init: ") + std::strerror(-r));
  // A registered file saves a reference count per request.
  if (io_uring_register_files(&ring_, &target_.fd, 1) == 0) fd_index_ = 0;
}

IoUringQueue::~IoUringQueue() { io_uring_queue_exit(&ring_); }

IoUringQueue::Request* IoUringQueue::new_request(Op op, uint64_t start, void* buf, uint64_t len,
                                                 void* user_data, uint32_t flags) {
  if (free_.empty()) {
    all_.push_back(std::make_unique<Request>());
    free_.push_back(all_.back().get());
  }
  Request* r = free_.back();
  free_.pop_back();
  *r = Request{op, flags, start, static_cast<char*>(buf), len, 0, user_data};
  outstanding_++;
  return r;
}

void IoUringQueue::finish_now(Request* r, int ret) { deliver(r, ret); }

bool IoUringQueue::misaligned(uint64_t start, uint64_t len, const void* buf) const {
  return start % target_.alignment != 0 || len % target_.alignment != 0 ||
         reinterpret_cast<uintptr_t>(buf) % target_.buf_alignment != 0;
}

void IoUringQueue::read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) {
  Request* r = new_request(Op::read, start, buf, len, user_data, flags);
  if (misaligned(start, len, buf)) return finish_now(r, -EINVAL);
  backlog_.push_back(r);
}

void IoUringQueue::write(uint64_t start, const void* buf, size_t len, void* user_data,
                         uint32_t flags) {
  // The kernel only reads from a write's buffer.
  Request* r = new_request(Op::write, start, const_cast<void*>(buf), len, user_data, flags);
  if (target_.read_only) return finish_now(r, -EBADF);
  if (misaligned(start, len, buf)) return finish_now(r, -EINVAL);
  backlog_.push_back(r);
}

void IoUringQueue::write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  Request* r = new_request(Op::write_zeroes, start, nullptr, len, user_data, flags);
  if (target_.read_only) return finish_now(r, -EBADF);
  if (misaligned(start, len, nullptr)) return finish_now(r, -EINVAL);
  backlog_.push_back(r);
}

void IoUringQueue::discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  Request* r = new_request(Op::discard, start, nullptr, len, user_data, flags);
  if (target_.read_only) return finish_now(r, -EBADF);
  if (misaligned(start, len, nullptr)) return finish_now(r, -EINVAL);
  backlog_.push_back(r);
}

void IoUringQueue::flush(void* user_data, uint32_t flags) {
  backlog_.push_back(new_request(Op::flush, 0, nullptr, 0, user_data, flags));
}

void IoUringQueue::prepare(io_uring_sqe* sqe, Request* r) {
  const int fd = fd_index_ >= 0 ? fd_index_ : target_.fd;
  const uint64_t offset = r->start + r->done;
  const unsigned chunk = unsigned(std::min(r->len - r->done, kMaxChunk));
  switch (r->op) {
    case Op::read:
      io_uring_prep_read(sqe, fd, r->buf + r->done, chunk, offset);
      break;
    case Op::write:
      io_uring_prep_write(sqe, fd, r->buf + r->done, chunk, offset);
      if (r->flags & req::fua) sqe->rw_flags = RWF_DSYNC;
      break;
    case Op::write_zeroes: {
      // Zeroes that must stay allocated: ZERO_RANGE; otherwise a hole,
      // which reads as zeroes (in a block device, an unmapping zero-out).
      const int mode = (r->flags & req::no_unmap) ? FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE
                                                   : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
      io_uring_prep_fallocate(sqe, fd, mode, off_t(r->start), off_t(r->len));
      break;
    }
    case Op::discard:
      // libblkio adds NO_HIDE_STALE, which kernels refuse (EOPNOTSUPP)
      // for files and loop devices alike.
      io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              off_t(r->start), off_t(r->len));
      break;
    case Op::flush:
    case Op::sync_after:
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      break;
  }
  if (fd_index_ >= 0) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data(sqe, r);
}

void IoUringQueue::fill_ring() {
  while (!backlog_.empty()) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return;
    prepare(sqe, backlog_.front());
    backlog_.pop_front();
    in_kernel_++;
  }
}

void IoUringQueue::complete(Request* r, int res) {
  if (res < 0) return deliver(r, res);
  switch (r->op) {
    case Op::read:
    case Op::write:
      if (res == 0) {
        // End of file: a file reads as zeroes past it, anything else
        // cannot be short.
        if (r->op == Op::read && target_.can_grow) {
          std::memset(r->buf + r->done, 0, r->len - r->done);
          return deliver(r, 0);
        }
        return deliver(r, -EIO);
      }
      r->done += uint64_t(res);
      if (r->done < r->len) return backlog_.push_back(r);
      return deliver(r, 0);
    case Op::write_zeroes:
      // FUA: fallocate has no flag for it; sync afterwards.
      if (r->flags & req::fua) {
        r->op = Op::sync_after;
        return backlog_.push_back(r);
      }
      return deliver(r, 0);
    default:
      return deliver(r, 0);
  }
}

void IoUringQueue::deliver(Request* r, int ret) {
  ready_.push_back(Completion{r->user_data, ret, nullptr});
  free_.push_back(r);
}

int IoUringQueue::take_ready(Completion* out, int max) {
  int n = 0;
  while (n < max && !ready_.empty()) {
    out[n++] = ready_.front();
    ready_.pop_front();
  }
  outstanding_ -= n;
  return n;
}

int IoUringQueue::wait(timespec* timeout) {
  if (!timeout) return io_uring_submit_and_wait(&ring_, 1);
  const int r = io_uring_submit(&ring_);
  if (r < 0) return r;
  __kernel_timespec ts{timeout->tv_sec, timeout->tv_nsec};
  io_uring_cqe* cqe;
  return io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
}

int IoUringQueue::do_io(Completion* completions, int min, int max, timespec* timeout) {
  if (min < 0 || max < min || min > outstanding_) return -EINVAL;
  int n = 0;
  for (;;) {
    unsigned head, reaped = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      complete(static_cast<Request*>(io_uring_cqe_get_data(cqe)), cqe->res);
      reaped++;
    }
    io_uring_cq_advance(&ring_, reaped);
    in_kernel_ -= int(reaped);
    n += take_ready(completions + n, max - n);
    fill_ring();
    if (n >= min) {
      if (io_uring_sq_ready(&ring_) > 0) {
        const int r = io_uring_submit(&ring_);
        if (r < 0 && n == 0) return r;
      }
      return n;
    }
    const int r = wait(timeout);
    if (r < 0 && r != -EAGAIN && r != -EBUSY) return n > 0 ? n : r;
  }
}

}  // namespace blkio
