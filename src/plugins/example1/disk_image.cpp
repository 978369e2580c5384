#include "disk_image.hpp"

#include <algorithm>
#include <cassert>
#include <string>

namespace example1 {
namespace {

// FAT12 geometry: one 512-byte sector per cluster keeps the cluster count
// (about 2000) well inside FAT12's limit of 4084.
constexpr uint32_t reserved_sectors = 1;
constexpr uint32_t fat_count = 2;
constexpr uint32_t sectors_per_fat = 6;
constexpr uint32_t root_entries = 512;
constexpr uint32_t dir_entry_size = 32;
constexpr uint32_t root_dir_sectors = root_entries * dir_entry_size / sector_size;
constexpr uint32_t first_data_sector = reserved_sectors + fat_count * sectors_per_fat + root_dir_sectors;
constexpr uint32_t cluster_count = partition_sectors - first_data_sector;
static_assert(cluster_count < 4085, "must stay FAT12");
static_assert((cluster_count + 2) * 3 / 2 <= sectors_per_fat * sector_size, "FAT too small");

// BIOS geometry for the CHS fields (LBA is what anything modern reads).
constexpr uint32_t heads = 64;
constexpr uint32_t sectors_per_track = 32;

constexpr uint8_t media_descriptor = 0xf8;  // fixed disk
constexpr uint8_t partition_type_fat12 = 0x01;
constexpr uint8_t attr_archive = 0x20;
constexpr uint8_t attr_volume_label = 0x08;
constexpr uint32_t disk_signature = 0x4e42444b;
constexpr uint32_t volume_serial = 0x1e4a2024;
// 2024-01-01 12:00:00, so that every build serves identical bytes.
constexpr uint16_t fat_date = ((2024 - 1980) << 9) | (1 << 5) | 1;
constexpr uint16_t fat_time = 12 << 11;

constexpr char readme[] =
    "Hello from the nbdkit example1 plugin!\r\n"
    "\r\n"
    "This 2 MiB disk is built in memory when the plugin loads.  It has an MBR\r\n"
    "partition table with a single FAT12 partition, labelled EXAMPLE1, which\r\n"
    "holds only this file.  The plugin is read-only.\r\n"
    "\r\n"
    "Things to try:\r\n"
    "\r\n"
    "  nbdkit example1 --run 'qemu-img convert \"$uri\" disk.img'\r\n"
    "      copies the disk to a local file;\r\n"
    "  nbdkit example1 --run 'nbdinfo \"$uri\"'\r\n"
    "      describes the export;\r\n"
    "  mdir -i disk.img@@1M  and  mtype -i disk.img@@1M ::README.TXT\r\n"
    "      list the filesystem and print this file from the copy.\r\n";

void put_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void put_le32(uint8_t* p, uint32_t v) {
  put_le16(p, static_cast<uint16_t>(v));
  put_le16(p + 2, static_cast<uint16_t>(v >> 16));
}

// Space padded, as FAT names and labels are.
void put_padded(uint8_t* p, std::string_view text, size_t width) {
  assert(text.size() <= width);
  std::fill_n(p, width, ' ');
  std::copy(text.begin(), text.end(), p);
}

// "README.TXT" -> "README  TXT".
std::string short_name(std::string_view name) {
  auto dot = name.find('.');
  std::string out(11, ' ');
  std::copy(name.begin(), name.begin() + dot, out.begin());
  std::copy(name.begin() + dot + 1, name.end(), out.begin() + 8);
  return out;
}

void put_chs(uint8_t* p, uint32_t lba) {
  uint32_t cylinder = lba / (heads * sectors_per_track);
  uint32_t head = lba / sectors_per_track % heads;
  uint32_t sector = lba % sectors_per_track + 1;
  p[0] = static_cast<uint8_t>(head);
  p[1] = static_cast<uint8_t>(sector | ((cylinder >> 8) & 3) << 6);
  p[2] = static_cast<uint8_t>(cylinder);
}

void put_boot_signature(uint8_t* sector) {
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

void write_mbr(uint8_t* mbr) {
  put_le32(mbr + 440, disk_signature);
  uint8_t* entry = mbr + 446;
  entry[0] = 0x00;  // not marked bootable: there is no boot code
  put_chs(entry + 1, partition_first_sector);
  entry[4] = partition_type_fat12;
  put_chs(entry + 5, partition_first_sector + partition_sectors - 1);
  put_le32(entry + 8, partition_first_sector);
  put_le32(entry + 12, partition_sectors);
  put_boot_signature(mbr);
}

void write_boot_sector(uint8_t* boot) {
  const uint8_t jump[] = {0xeb, 0x3c, 0x90};
  std::copy(std::begin(jump), std::end(jump), boot);
  put_padded(boot + 3, "NBDKIT", 8);
  put_le16(boot + 11, sector_size);
  boot[13] = 1;  // sectors per cluster
  put_le16(boot + 14, reserved_sectors);
  boot[16] = fat_count;
  put_le16(boot + 17, root_entries);
  put_le16(boot + 19, partition_sectors);
  boot[21] = media_descriptor;
  put_le16(boot + 22, sectors_per_fat);
  put_le16(boot + 24, sectors_per_track);
  put_le16(boot + 26, heads);
  put_le32(boot + 28, partition_first_sector);  // hidden sectors before the partition
  boot[36] = 0x80;                              // BIOS drive number
  boot[38] = 0x29;                              // extended boot signature
  put_le32(boot + 39, volume_serial);
  put_padded(boot + 43, volume_label, 11);
  put_padded(boot + 54, "FAT12", 8);
  // Where the jump lands: halt forever if someone boots it anyway.
  const uint8_t halt_loop[] = {0xfa, 0xf4, 0xeb, 0xfd};  // cli; hlt; jmp hlt
  std::copy(std::begin(halt_loop), std::end(halt_loop), boot + 0x3e);
  put_boot_signature(boot);
}

void set_fat12_entry(uint8_t* fat, uint32_t cluster, uint16_t value) {
  uint8_t* p = fat + cluster * 3 / 2;
  if (cluster % 2 == 0) {
    p[0] = static_cast<uint8_t>(value);
    p[1] = static_cast<uint8_t>((p[1] & 0xf0) | ((value >> 8) & 0x0f));
  } else {
    p[0] = static_cast<uint8_t>((p[0] & 0x0f) | ((value << 4) & 0xf0));
    p[1] = static_cast<uint8_t>(value >> 4);
  }
}

void write_dir_entry(uint8_t* entry, std::string_view name11, uint8_t attributes,
                     uint16_t first_cluster, uint32_t size) {
  put_padded(entry, name11, 11);
  entry[11] = attributes;
  put_le16(entry + 14, fat_time);  // created
  put_le16(entry + 16, fat_date);
  put_le16(entry + 18, fat_date);  // accessed
  put_le16(entry + 22, fat_time);  // modified
  put_le16(entry + 24, fat_date);
  put_le16(entry + 26, first_cluster);
  put_le32(entry + 28, size);
}

}  // namespace

std::string_view readme_text() { return {readme, sizeof readme - 1}; }

std::vector<uint8_t> make_disk_image() {
  std::vector<uint8_t> disk(size_t{disk_sectors} * sector_size);
  write_mbr(disk.data());

  uint8_t* partition = disk.data() + size_t{partition_first_sector} * sector_size;
  write_boot_sector(partition);

  const std::string_view text = readme_text();
  const uint32_t first_cluster = 2;  // clusters 0 and 1 are reserved
  const uint32_t file_clusters = static_cast<uint32_t>((text.size() + sector_size - 1) / sector_size);

  uint8_t* fat = partition + reserved_sectors * sector_size;
  set_fat12_entry(fat, 0, 0xf00 | media_descriptor);
  set_fat12_entry(fat, 1, 0xfff);
  for (uint32_t i = 0; i < file_clusters; ++i) {
    uint32_t cluster = first_cluster + i;
    set_fat12_entry(fat, cluster, i + 1 == file_clusters ? 0xfff : static_cast<uint16_t>(cluster + 1));
  }
  for (uint32_t copy = 1; copy < fat_count; ++copy)
    std::copy_n(fat, sectors_per_fat * sector_size, fat + copy * sectors_per_fat * sector_size);

  uint8_t* root = fat + fat_count * sectors_per_fat * sector_size;
  write_dir_entry(root, volume_label, attr_volume_label, 0, 0);
  write_dir_entry(root + dir_entry_size, short_name(readme_name), attr_archive, first_cluster,
                  static_cast<uint32_t>(text.size()));

  uint8_t* data = partition + first_data_sector * sector_size;
  std::copy(text.begin(), text.end(), data + (first_cluster - 2) * sector_size);
  return disk;
}

}  // namespace example1
