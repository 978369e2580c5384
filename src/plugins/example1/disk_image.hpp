// The disk served by the example1 plugin, the same shape as nbdkit's: 100
// MiB whose first sector is an MBR partition table with a single, empty
// Linux partition (sectors 128 to 204672); every other byte is zero.
#pragma once

#include <array>
#include <cstdint>

namespace example1 {

inline constexpr uint32_t sector_size = 512;
inline constexpr uint64_t disk_size = 100 * 1024 * 1024;
inline constexpr uint32_t partition_first_sector = 128;
inline constexpr uint32_t partition_sectors = 204545;

// The first sector of the disk.
std::array<uint8_t, sector_size> make_mbr();

}  // namespace example1
