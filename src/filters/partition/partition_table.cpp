#include "partition_table.hpp"

#include <array>
#include <cstring>
#include <string>

namespace nbdkit::filters {
namespace {

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t le64(const uint8_t* p) { return le32(p) | uint64_t(le32(p + 4)) << 32; }

[[noreturn]] void fail(const std::string& message) { throw Error("partition: " + message); }

using Sector = std::array<uint8_t, 512>;

Sector read_sector(const ReadAt& read, uint64_t offset, uint64_t disk_size) {
  Sector s{};
  if (offset > disk_size || disk_size - offset < s.size())
    fail("partition table at offset " + std::to_string(offset) + " is beyond the end of the disk");
  if (const int err = read(s.data(), s.size(), offset))
    throw Error("partition: reading the partition table: " + std::string(strerror(err)), err);
  return s;
}

// One of the four 16-byte entries of an MBR or extended boot record.
struct MbrEntry {
  uint8_t type;
  uint32_t first_sector, sectors;
};

MbrEntry mbr_entry(const Sector& s, int i) {
  const uint8_t* e = s.data() + 446 + 16 * i;
  return MbrEntry{e[4], le32(e + 8), le32(e + 12)};
}

bool is_extended(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

PartitionRange checked(uint64_t first_sector, uint64_t sectors, uint32_t sector_size,
                       uint64_t disk_size, unsigned number) {
  const uint64_t start = first_sector * sector_size, length = sectors * sector_size;
  if (first_sector > disk_size / sector_size || start > disk_size || length > disk_size - start)
    fail("partition " + std::to_string(number) + " extends beyond the end of the disk");
  return PartitionRange{start, length};
}

// Logical partitions: a chain of extended boot records, each holding one
// partition (relative to itself) and a link to the next (relative to the
// extended partition).
PartitionRange find_logical(const ReadAt& read, uint64_t disk_size, const MbrEntry& extended,
                            unsigned number, uint32_t ss) {
  uint64_t ebr = extended.first_sector;
  // A bound on the chain, so that a loop in a corrupt table ends.
  for (unsigned n = 5; n < 5 + 4096; ++n) {
    const Sector s = read_sector(read, ebr * ss, disk_size);
    if (s[510] != 0x55 || s[511] != 0xaa) break;
    const MbrEntry part = mbr_entry(s, 0), link = mbr_entry(s, 1);
    if (n == number) {
      if (part.type == 0) break;
      return checked(ebr + part.first_sector, part.sectors, ss, disk_size, number);
    }
    if (link.type == 0 || link.first_sector == 0) break;
    ebr = uint64_t(extended.first_sector) + link.first_sector;
  }
  fail("partition " + std::to_string(number) + " not found");
}

PartitionRange find_mbr(const ReadAt& read, uint64_t disk_size, const Sector& mbr,
                        unsigned number, uint32_t ss) {
  if (number <= 4) {
    const MbrEntry e = mbr_entry(mbr, static_cast<int>(number - 1));
    if (e.type == 0) fail("MBR partition " + std::to_string(number) + " is unused");
    if (is_extended(e.type))
      fail("MBR partition " + std::to_string(number) + " is an extended partition");
    return checked(e.first_sector, e.sectors, ss, disk_size, number);
  }
  for (int i = 0; i < 4; ++i) {
    const MbrEntry e = mbr_entry(mbr, i);
    if (is_extended(e.type)) return find_logical(read, disk_size, e, number, ss);
  }
  fail("partition " + std::to_string(number) + " not found (no extended partition)");
}

PartitionRange find_gpt(const ReadAt& read, uint64_t disk_size, unsigned number, uint32_t ss) {
  const Sector header = read_sector(read, ss, disk_size);
  if (std::memcmp(header.data(), "EFI PART", 8) != 0) fail("GPT header not found");
  const uint64_t entries_lba = le64(&header[72]);
  const uint32_t entries = le32(&header[80]), entry_size = le32(&header[84]);
  if (entry_size < 128 || entry_size > 4096 || entry_size % 8 != 0)
    fail("GPT partition entry size " + std::to_string(entry_size) + " is not valid");
  if (number > entries)
    fail("GPT has only " + std::to_string(entries) + " partition entries");
  if (entries_lba > disk_size / ss) fail("GPT partition entries are beyond the end of the disk");
  std::array<uint8_t, 128> e{};
  const uint64_t at = entries_lba * ss + uint64_t(number - 1) * entry_size;
  if (at > disk_size || disk_size - at < e.size())
    fail("GPT partition entries are beyond the end of the disk");
  if (const int err = read(e.data(), e.size(), at))
    throw Error("partition: reading the GPT: " + std::string(strerror(err)), err);
  static constexpr std::array<uint8_t, 16> unused{};
  if (std::memcmp(e.data(), unused.data(), unused.size()) == 0)
    fail("GPT partition " + std::to_string(number) + " is unused");
  const uint64_t first = le64(&e[32]), last = le64(&e[40]);
  if (last < first) fail("GPT partition " + std::to_string(number) + " ends before it starts");
  return checked(first, last - first + 1, ss, disk_size, number);
}

}  // namespace

PartitionRange find_partition(const ReadAt& read, uint64_t disk_size, unsigned number,
                              uint32_t sector_size) {
  if (number == 0) fail("partition numbers count from 1");
  const Sector mbr = read_sector(read, 0, disk_size);
  if (mbr[510] != 0x55 || mbr[511] != 0xaa) fail("no MBR or GPT partition table found");
  // A protective MBR (one partition of type 0xee) announces a GPT.
  if (mbr_entry(mbr, 0).type == 0xee) return find_gpt(read, disk_size, number, sector_size);
  return find_mbr(read, disk_size, mbr, number, sector_size);
}

}  // namespace nbdkit::filters
