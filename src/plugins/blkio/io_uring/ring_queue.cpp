#include "ring_queue.hpp"

#include <cerrno>
#include <cstring>

namespace blkio {

RingQueue::RingQueue(const RingTarget& target, unsigned entries, unsigned setup_flags)
    : target_(target) {
  io_uring_params params{};
  // Completions are reaped by the thread that submitted, so the kernel
  // need not interrupt it to run completion work (Linux 5.19).
  params.flags = setup_flags | IORING_SETUP_COOP_TASKRUN;
  int r = io_uring_queue_init_params(entries, &ring_, &params);
  if (r == -EINVAL) {
    params = io_uring_params{};
    params.flags = setup_flags;
    r = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (r < 0) throw Error(-r, std::string("io_uring_queue_init: ") + std::strerror(-r));
  // A registered file saves a reference count per request.
  if (io_uring_register_files(&ring_, &target_.fd, 1) == 0) fd_index_ = 0;
}

RingQueue::~RingQueue() { io_uring_queue_exit(&ring_); }

RingQueue::Request* RingQueue::new_request(Op op, uint64_t start, void* buf, uint64_t len,
                                           void* user_data, uint32_t flags) {
  if (free_.empty()) {
    all_.push_back(std::make_unique<Request>());
    free_.push_back(all_.back().get());
  }
  Request* r = free_.back();
  free_.pop_back();
  *r = Request{op, flags, start, static_cast<char*>(buf), len, 0, user_data, {}};
  outstanding_++;
  return r;
}

bool RingQueue::misaligned(uint64_t start, uint64_t len, const void* buf) const {
  return start % target_.alignment != 0 || len % target_.alignment != 0 ||
         reinterpret_cast<uintptr_t>(buf) % target_.buf_alignment != 0;
}

void RingQueue::enqueue(Request* r, bool checked_write, const void* buf) {
  if (checked_write && target_.read_only) return deliver(r, -EBADF);
  if (r->op != Op::flush && misaligned(r->start, r->len, buf)) return deliver(r, -EINVAL);
  if (const auto result = result_without_kernel(*r)) return deliver(r, *result);
  backlog_.push_back(r);
}

void RingQueue::read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) {
  enqueue(new_request(Op::read, start, buf, len, user_data, flags), false, buf);
}

void RingQueue::write(uint64_t start, const void* buf, size_t len, void* user_data,
                      uint32_t flags) {
  // The kernel only reads from a write's buffer.
  enqueue(new_request(Op::write, start, const_cast<void*>(buf), len, user_data, flags), true,
          buf);
}

void RingQueue::write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  enqueue(new_request(Op::write_zeroes, start, nullptr, len, user_data, flags), true, nullptr);
}

void RingQueue::discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) {
  enqueue(new_request(Op::discard, start, nullptr, len, user_data, flags), true, nullptr);
}

void RingQueue::flush(void* user_data, uint32_t flags) {
  enqueue(new_request(Op::flush, 0, nullptr, 0, user_data, flags), false, nullptr);
}

void RingQueue::fill_ring() {
  const int fd = fd_index_ >= 0 ? fd_index_ : target_.fd;
  while (!backlog_.empty()) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return;
    Request* r = backlog_.front();
    backlog_.pop_front();
    prepare(sqe, r, fd);
    if (fd_index_ >= 0) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, r);
  }
}

void RingQueue::deliver(Request* r, int ret) {
  ready_.push_back(Completion{r->user_data, ret, nullptr});
  free_.push_back(r);
}

int RingQueue::take_ready(Completion* out, int max) {
  int n = 0;
  while (n < max && !ready_.empty()) {
    out[n++] = ready_.front();
    ready_.pop_front();
  }
  outstanding_ -= n;
  return n;
}

int RingQueue::wait(timespec* timeout) {
  if (!timeout) return io_uring_submit_and_wait(&ring_, 1);
  const int r = io_uring_submit(&ring_);
  if (r < 0) return r;
  __kernel_timespec ts{timeout->tv_sec, timeout->tv_nsec};
  io_uring_cqe* cqe;
  return io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
}

int RingQueue::do_io(Completion* completions, int min, int max, timespec* timeout) {
  if (min < 0 || max < min || min > outstanding_) return -EINVAL;
  int n = 0;
  for (;;) {
    unsigned head, reaped = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      complete(static_cast<Request*>(io_uring_cqe_get_data(cqe)), *cqe);
      reaped++;
    }
    io_uring_cq_advance(&ring_, reaped);
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
