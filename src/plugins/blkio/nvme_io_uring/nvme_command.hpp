// NVMe commands as the kernel's passthrough takes them (struct
// nvme_uring_cmd in <linux/nvme_ioctl.h>, carried in the 80-byte command
// area of a 128-byte io_uring SQE), and the NVMe status a completion
// returns, mapped to errno.  Pure functions: the unit tests check the
// encodings byte by byte against the NVM Command Set specification.
#pragma once

#include <linux/nvme_ioctl.h>

#include <cstdint>

struct io_uring_sqe;

namespace blkio::nvme {

// NVM Command Set I/O opcodes.
inline constexpr uint8_t kFlush = 0x00;
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kRead = 0x02;
inline constexpr uint8_t kWriteZeroes = 0x08;
inline constexpr uint8_t kDatasetManagement = 0x09;
// Admin opcode.
inline constexpr uint8_t kIdentify = 0x06;

// Command Dword 12 of Read, Write and Write Zeroes: bits 15:0 hold the
// number of logical blocks minus one.
inline constexpr uint32_t kForceUnitAccess = 1u << 30;
inline constexpr uint32_t kDeallocate = 1u << 25;  // Write Zeroes only
// Command Dword 11 of Dataset Management: the Deallocate attribute.
inline constexpr uint32_t kDsmDeallocate = 1u << 2;

// The most blocks one Read, Write or Write Zeroes can name (16-bit,
// zero-based count) and one Dataset Management range (32-bit count).
inline constexpr uint64_t kMaxBlocksPerCommand = 65536;
inline constexpr uint64_t kMaxBlocksPerRange = UINT32_MAX;
// A Dataset Management range: context attributes (u32), length in
// blocks (u32), starting LBA (u64), all little-endian.
inline constexpr unsigned kDsmRangeSize = 16;

// Read or Write of `blocks` (1..65536) blocks from `slba`, with FUA.
nvme_uring_cmd read_write(uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t blocks,
                          bool fua, void* buf, uint32_t len);
// Write Zeroes; `deallocate` lets the controller unmap the range (DEAC).
nvme_uring_cmd write_zeroes(uint32_t nsid, uint64_t slba, uint32_t blocks, bool fua,
                            bool deallocate);
nvme_uring_cmd flush(uint32_t nsid);
// Dataset Management with the Deallocate attribute over `count` (1..256)
// ranges in `ranges` (kDsmRangeSize bytes each).
nvme_uring_cmd deallocate(uint32_t nsid, const void* ranges, uint32_t count);
// Writes one Dataset Management range to `out` (kDsmRangeSize bytes).
void encode_dsm_range(uint8_t* out, uint64_t slba, uint32_t blocks);
// Admin Identify of `cns` into a 4096-byte buffer.
nvme_uring_cmd identify(uint32_t nsid, uint8_t cns, void* buf);

// Makes `sqe` (128 bytes, zeroed here) an IORING_OP_URING_CMD carrying
// `cmd` as NVME_URING_CMD_IO on `fd`.
void fill_sqe(io_uring_sqe* sqe, int fd, const nvme_uring_cmd& cmd);

// The errno for a passthrough completion's result: 0 for success, the
// result itself when negative (the kernel's own error), or the NVMe
// status (Status Code Type << 8 | Status Code, with the More and Do Not
// Retry bits above) mapped to the nearest errno.
int status_to_errno(int res);

}  // namespace blkio::nvme
