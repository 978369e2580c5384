#include "nvme_identify.hpp"

#include <algorithm>
#include <cerrno>

#include "../properties.hpp"
#include "nvme_command.hpp"

namespace blkio::nvme {

namespace {

// Identify data structures are little-endian.
uint64_t le(IdentifyData data, size_t offset, size_t bytes) {
  uint64_t n = 0;
  for (size_t i = bytes; i-- > 0;) n = (n << 8) | data[offset + i];
  return n;
}

// Identify Namespace byte offsets (NVM Command Set specification).
constexpr size_t kNsze = 0, kNlbaf = 25, kFlbas = 26, kLbaFormats = 128;
// Identify Controller byte offsets (NVMe Base specification).
constexpr size_t kMdts = 77, kOncs = 520, kVwc = 525;

constexpr uint32_t kMinLbaShift = 9, kMaxLbaShift = 16;

}  // namespace

NamespaceGeometry parse_identify_namespace(IdentifyData data) {
  NamespaceGeometry g;
  g.blocks = le(data, kNsze, 8);
  // NLBAF is zero-based; FLBAS bits 3:0 are the format index, bits 6:5
  // its high bits when there are more than 16 formats.
  const unsigned formats = data[kNlbaf] + 1u;
  const uint8_t flbas = data[kFlbas];
  unsigned index = flbas & 0xf;
  if (formats > 16) index |= unsigned((flbas >> 5) & 0x3) << 4;
  if (index >= formats || index >= 64)
    throw Error(ENOTSUP, "the namespace's format index " + std::to_string(index) +
                             " is beyond its " + std::to_string(formats) + " LBA formats");
  // LBA Format: bits 15:0 metadata size, bits 23:16 LBA data size (log2).
  const uint64_t format = le(data, kLbaFormats + 4 * index, 4);
  const uint64_t metadata = format & 0xffff;
  g.lba_shift = uint32_t((format >> 16) & 0xff);
  if (metadata != 0)
    throw Error(ENOTSUP, "the namespace is formatted with " + std::to_string(metadata) +
                             " bytes of metadata per block, which nvme-io_uring does not support");
  if (g.lba_shift < kMinLbaShift || g.lba_shift > kMaxLbaShift)
    throw Error(ENOTSUP, "unsupported LBA data size 2^" + std::to_string(g.lba_shift));
  return g;
}

ControllerFeatures parse_identify_controller(IdentifyData data) {
  ControllerFeatures f;
  f.mdts = data[kMdts];
  const uint64_t oncs = le(data, kOncs, 2);
  f.dataset_management = (oncs & (1u << 2)) != 0;
  f.write_zeroes = (oncs & (1u << 3)) != 0;
  f.volatile_write_cache = (data[kVwc] & 0x1) != 0;
  return f;
}

uint64_t max_transfer(uint8_t mdts, uint32_t lba_shift, uint64_t kernel_limit) {
  constexpr uint64_t kCap = 1u << 30;
  uint64_t limit = std::min(kCap, kMaxBlocksPerCommand << lba_shift);
  // 2^MDTS pages; an MDTS so large it overflows is no limit at all.
  if (mdts != 0 && mdts < 32) limit = std::min(limit, kMinPageSize << mdts);
  if (kernel_limit != 0) limit = std::min(limit, kernel_limit);
  const uint64_t block = uint64_t(1) << lba_shift;
  return std::max(limit / block * block, block);
}

uint64_t kernel_transfer_limit(uint64_t max_hw_sectors_kb, uint64_t max_segments,
                               uint64_t page_size) {
  uint64_t limit = max_hw_sectors_kb * 1024;
  if (max_segments > 1) {
    const uint64_t by_segments = (max_segments - 1) * page_size;
    limit = limit ? std::min(limit, by_segments) : by_segments;
  }
  return limit;
}

std::string block_device_name(const std::string& generic_name) {
  // "ng" CONTROLLER "n" NAMESPACE, digits only.
  if (generic_name.size() < 5 || generic_name.compare(0, 2, "ng") != 0) return {};
  const size_t n = generic_name.find('n', 2);
  const auto digits = [&](size_t from, size_t to) {
    const auto first = generic_name.begin();
    return to > from && std::all_of(first + long(from), first + long(to),
                                    [](char c) { return c >= '0' && c <= '9'; });
  };
  if (n == std::string::npos || !digits(2, n) || !digits(n + 1, generic_name.size())) return {};
  return "nvme" + generic_name.substr(2);
}

}  // namespace blkio::nvme
