#include "nvme_queue.hpp"

#include <cerrno>

#include "nvme_command.hpp"

namespace blkio {

NvmeQueue::NvmeQueue(const NvmeTarget& target, unsigned entries)
    : RingQueue(target, entries, IORING_SETUP_SQE128 | IORING_SETUP_CQE32), nvme_(target) {}

std::optional<int> NvmeQueue::result_without_kernel(const Request& r) const {
  switch (r.op) {
    case Op::read:
    case Op::write:
      // A command cannot carry zero blocks.
      if (r.len == 0) return 0;
      break;
    case Op::write_zeroes:
      if (!nvme_.write_zeroes) return -ENOTSUP;
      if (r.len == 0) return 0;
      break;
    case Op::discard:
      if (!nvme_.deallocate) return -ENOTSUP;
      if (r.len == 0) return 0;
      break;
    case Op::flush:
      // Without a volatile write cache every completed write is durable.
      if (!nvme_.flush) return 0;
      break;
    case Op::sync_after:
      break;
  }
  return std::nullopt;
}

uint64_t NvmeQueue::limit(const Request& r) const {
  switch (r.op) {
    case Op::read:
    case Op::write:
      return nvme_.max_transfer;
    case Op::write_zeroes:
      return nvme::kMaxBlocksPerCommand << nvme_.lba_shift;
    case Op::discard:
      return nvme::kMaxBlocksPerRange << nvme_.lba_shift;
    default:
      return 0;
  }
}

void NvmeQueue::prepare(io_uring_sqe* sqe, Request* r, int fd) {
  const uint64_t bytes = piece(r->len - r->done, limit(*r));
  const uint64_t slba = (r->start + r->done) >> nvme_.lba_shift;
  const uint32_t blocks = uint32_t(bytes >> nvme_.lba_shift);
  const bool fua = (r->flags & req::fua) != 0;
  nvme_uring_cmd cmd;
  switch (r->op) {
    case Op::read:
    case Op::write:
      cmd = nvme::read_write(r->op == Op::read ? nvme::kRead : nvme::kWrite, nvme_.nsid, slba,
                             blocks, fua, r->buf + r->done, uint32_t(bytes));
      break;
    case Op::write_zeroes:
      // Deallocating is how the controller makes zeroes cheaply; the
      // client forbids it with NO_UNMAP.
      cmd = nvme::write_zeroes(nvme_.nsid, slba, blocks, fua, !(r->flags & req::no_unmap));
      break;
    case Op::discard:
      nvme::encode_dsm_range(r->payload, slba, blocks);
      cmd = nvme::deallocate(nvme_.nsid, r->payload, 1);
      break;
    default:
      cmd = nvme::flush(nvme_.nsid);
      break;
  }
  nvme::fill_sqe(sqe, fd, cmd);
}

void NvmeQueue::complete(Request* r, const io_uring_cqe& cqe) {
  if (cqe.res != 0) return deliver(r, nvme::status_to_errno(cqe.res));
  r->done += piece(r->len - r->done, limit(*r));
  if (r->done < r->len) return resubmit(r);
  deliver(r, 0);
}

}  // namespace blkio
