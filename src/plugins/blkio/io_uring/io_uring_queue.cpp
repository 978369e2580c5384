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

void IoUringQueue::prepare(io_uring_sqe* sqe, Request* r, int fd) {
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
}

void IoUringQueue::complete(Request* r, const io_uring_cqe& cqe) {
  const int res = cqe.res;
  if (res < 0) return deliver(r, res);
  switch (r->op) {
    case Op::read:
    case Op::write:
      if (res == 0) {
        // End of file: a file reads as zeroes past it, anything else
        // cannot be short.
        if (r->op == Op::read && can_grow_) {
          std::memset(r->buf + r->done, 0, r->len - r->done);
          return deliver(r, 0);
        }
        return deliver(r, -EIO);
      }
      r->done += uint64_t(res);
      if (r->done < r->len) return resubmit(r);
      return deliver(r, 0);
    case Op::write_zeroes:
      // FUA: fallocate has no flag for it; sync afterwards.
      if (r->flags & req::fua) {
        r->op = Op::sync_after;
        return resubmit(r);
      }
      return deliver(r, 0);
    default:
      return deliver(r, 0);
  }
}

}  // namespace blkio
