// What the nvme-io_uring driver learns from Identify Namespace (CNS 0)
// and Identify Controller (CNS 1), parsed from the 4096-byte data
// structures of the NVMe Base and NVM Command Set specifications, and the
// transfer limits derived from it.  Pure functions, unit-tested on byte
// arrays built per the specifications.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace blkio::nvme {

inline constexpr size_t kIdentifySize = 4096;
using IdentifyData = std::span<const uint8_t, kIdentifySize>;

struct NamespaceGeometry {
  uint64_t blocks = 0;     // NSZE
  uint32_t lba_shift = 9;  // LBADS of the format in use
  uint64_t capacity() const { return blocks << lba_shift; }
  uint32_t lba_size() const { return 1u << lba_shift; }
};

// Throws blkio::Error (ENOTSUP) for a format this driver cannot serve:
// per-block metadata (MS != 0), an LBA size below 512 bytes or above
// 64 KiB, or a format index beyond the namespace's formats.
NamespaceGeometry parse_identify_namespace(IdentifyData data);

struct ControllerFeatures {
  uint8_t mdts = 0;  // Maximum Data Transfer Size: 2^n minimum pages, 0 = no limit
  bool write_zeroes = false;          // ONCS bit 3
  bool dataset_management = false;    // ONCS bit 2
  bool volatile_write_cache = false;  // VWC bit 0
};
ControllerFeatures parse_identify_controller(IdentifyData data);

// The controller's minimum memory page size.  CAP.MPSMIN is in the
// controller's registers, which the generic character device does not
// expose; 4096 is the smallest page size NVMe allows and what
// controllers report in practice (libblkio assumes it too).
inline constexpr uint64_t kMinPageSize = 4096;

// The largest Read or Write in bytes: 2^MDTS pages, at most 65536 blocks
// (the command's count field), at most `kernel_limit` when known (the
// block queue's limits, 0 = unknown), a multiple of the block size, and
// at least one block; capped at 1 GiB to fit libblkio's int property.
uint64_t max_transfer(uint8_t mdts, uint32_t lba_shift, uint64_t kernel_limit);

// The kernel's limit for one passthrough transfer from the block
// queue's max_hw_sectors_kb and max_segments: a buffer that is not
// page-aligned touches one page more than its length, and each page may
// be a segment of its own.  0 when neither is known.
uint64_t kernel_transfer_limit(uint64_t max_hw_sectors_kb, uint64_t max_segments,
                               uint64_t page_size);

// The block device "nvme0n1" behind the generic character device
// "ng0n1" (whose sysfs entry has no queue limits), or "" for a name of
// another shape.
std::string block_device_name(const std::string& generic_name);

}  // namespace blkio::nvme
