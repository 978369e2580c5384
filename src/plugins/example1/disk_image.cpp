#include "disk_image.hpp"

#include <algorithm>
#include <string_view>

namespace example1 {
namespace {

// The partition entry and disk signature hold the values nbdkit's image
// has, so that partitioning tools print the same table for both.
constexpr uint32_t disk_signature = 0x00025be1;
constexpr uint8_t partition_type_linux = 0x83;
// BIOS geometry for the CHS fields (LBA is what anything modern reads).
constexpr uint32_t heads = 255;
constexpr uint32_t sectors_per_track = 63;

// Boot code of our own: print a message through the BIOS and halt, for
// whoever boots the disk (it has no operating system).
//   xor ax,ax; mov ds,ax; mov si,msg; cld
//   next: lodsb; test al,al; jz halt; mov ah,0x0e; mov bx,7; int 0x10; jmp next
//   halt: cli; hlt; jmp halt+1
constexpr uint8_t boot_code[] = {
    0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x1a, 0x7c, 0xfc,  // msg at 0x7c00 + 26
    0xac, 0x84, 0xc0, 0x74, 0x09, 0xb4, 0x0e, 0xbb, 0x07, 0x00, 0xcd, 0x10, 0xeb, 0xf2,
    0xfa, 0xf4, 0xeb, 0xfd};
constexpr std::string_view boot_message = "nbdkit example1: this disk is not bootable\r\n";
static_assert(sizeof boot_code == 26);

void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void put_chs(uint8_t* p, uint32_t lba) {
  const uint32_t cylinder = lba / (heads * sectors_per_track);
  const uint32_t head = lba / sectors_per_track % heads;
  const uint32_t sector = lba % sectors_per_track + 1;
  p[0] = static_cast<uint8_t>(head);
  p[1] = static_cast<uint8_t>(sector | ((cylinder >> 8) & 3) << 6);
  p[2] = static_cast<uint8_t>(cylinder);
}

}  // namespace

std::array<uint8_t, sector_size> make_mbr() {
  std::array<uint8_t, sector_size> mbr{};
  std::copy(std::begin(boot_code), std::end(boot_code), mbr.begin());
  std::copy(boot_message.begin(), boot_message.end(), mbr.begin() + sizeof boot_code);
  put_le32(&mbr[440], disk_signature);
  uint8_t* entry = &mbr[446];
  entry[0] = 0x00;  // not marked active
  put_chs(entry + 1, partition_first_sector);
  entry[4] = partition_type_linux;
  put_chs(entry + 5, partition_first_sector + partition_sectors - 1);
  put_le32(entry + 8, partition_first_sector);
  put_le32(entry + 12, partition_sectors);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

}  // namespace example1
