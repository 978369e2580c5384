// The disk served by the example1 plugin, built in memory: an MBR
// partition table with one partition holding a FAT12 filesystem labelled
// EXAMPLE1 that contains README.TXT.  Generated rather than shipped so
// that no binary blob lives in the source tree.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace example1 {

inline constexpr uint32_t sector_size = 512;
inline constexpr uint32_t disk_sectors = 4096;           // 2 MiB
inline constexpr uint32_t partition_first_sector = 2048;  // 1 MiB aligned, as fdisk does
inline constexpr uint32_t partition_sectors = disk_sectors - partition_first_sector;
inline constexpr std::string_view volume_label = "EXAMPLE1";
inline constexpr std::string_view readme_name = "README.TXT";

// The text of README.TXT.
std::string_view readme_text();

std::vector<uint8_t> make_disk_image();

}  // namespace example1
