#include "nvme_command.hpp"

#include <liburing.h>

#include <cerrno>
#include <cstring>

namespace blkio::nvme {

namespace {

uint32_t low32(uint64_t n) { return uint32_t(n); }
uint32_t high32(uint64_t n) { return uint32_t(n >> 32); }

// Read, Write and Write Zeroes share the layout of Dwords 10 to 12:
// starting LBA, then the zero-based block count.
nvme_uring_cmd block_range(uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t blocks,
                           bool fua) {
  nvme_uring_cmd cmd{};
  cmd.opcode = opcode;
  cmd.nsid = nsid;
  cmd.cdw10 = low32(slba);
  cmd.cdw11 = high32(slba);
  cmd.cdw12 = ((blocks - 1) & 0xffff) | (fua ? kForceUnitAccess : 0);
  return cmd;
}

void put_le32(uint8_t* p, uint32_t n) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(n >> (8 * i));
}

}  // namespace

nvme_uring_cmd read_write(uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t blocks,
                          bool fua, void* buf, uint32_t len) {
  nvme_uring_cmd cmd = block_range(opcode, nsid, slba, blocks, fua);
  cmd.addr = reinterpret_cast<uintptr_t>(buf);
  cmd.data_len = len;
  return cmd;
}

nvme_uring_cmd write_zeroes(uint32_t nsid, uint64_t slba, uint32_t blocks, bool fua,
                            bool deallocate) {
  nvme_uring_cmd cmd = block_range(kWriteZeroes, nsid, slba, blocks, fua);
  if (deallocate) cmd.cdw12 |= kDeallocate;
  return cmd;
}

nvme_uring_cmd flush(uint32_t nsid) {
  nvme_uring_cmd cmd{};
  cmd.opcode = kFlush;
  cmd.nsid = nsid;
  return cmd;
}

nvme_uring_cmd deallocate(uint32_t nsid, const void* ranges, uint32_t count) {
  nvme_uring_cmd cmd{};
  cmd.opcode = kDatasetManagement;
  cmd.nsid = nsid;
  cmd.addr = reinterpret_cast<uintptr_t>(ranges);
  cmd.data_len = count * kDsmRangeSize;
  cmd.cdw10 = (count - 1) & 0xff;  // Number of Ranges, zero-based
  cmd.cdw11 = kDsmDeallocate;
  return cmd;
}

void encode_dsm_range(uint8_t* out, uint64_t slba, uint32_t blocks) {
  put_le32(out, 0);  // context attributes: none
  put_le32(out + 4, blocks);
  put_le32(out + 8, low32(slba));
  put_le32(out + 12, high32(slba));
}

nvme_uring_cmd identify(uint32_t nsid, uint8_t cns, void* buf) {
  nvme_uring_cmd cmd{};
  cmd.opcode = kIdentify;
  cmd.nsid = nsid;
  cmd.addr = reinterpret_cast<uintptr_t>(buf);
  cmd.data_len = 4096;
  cmd.cdw10 = cns;
  return cmd;
}

void fill_sqe(io_uring_sqe* sqe, int fd, const nvme_uring_cmd& cmd) {
  // liburing 2.3 has no helper for URING_CMD; the second 64 bytes of a
  // 128-byte entry are not touched by anything else, so clear them all.
  std::memset(static_cast<void*>(sqe), 0, 128);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = NVME_URING_CMD_IO;
  static_assert(sizeof cmd <= 80, "the SQE's command area holds 80 bytes");
  std::memcpy(sqe->cmd, &cmd, sizeof cmd);
}

int status_to_errno(int res) {
  if (res <= 0) return res;
  // Bits 10:8 Status Code Type, 7:0 Status Code; More (13) and Do Not
  // Retry (14) do not change the meaning.
  const int type = (res >> 8) & 0x7, code = res & 0xff;
  switch (type) {
    case 0x0:  // generic command status
      switch (code) {
        case 0x01:  // Invalid Command Opcode
        case 0x02:  // Invalid Field in Command (an option the device lacks)
          return -ENOTSUP;
        case 0x20:  // Namespace is Write Protected
          return -EROFS;
        case 0x80:  // LBA Out of Range
          return -EINVAL;
        case 0x81:  // Capacity Exceeded
          return -ENOSPC;
      }
      break;
    case 0x1:                                  // command specific status
      if (code == 0x82) return -EROFS;         // Attempted Write to Read Only Range
      break;
    case 0x2:                                  // media and data integrity errors
      if (code == 0x86) return -EACCES;        // Access Denied
      break;
  }
  return -EIO;
}

}  // namespace blkio::nvme
