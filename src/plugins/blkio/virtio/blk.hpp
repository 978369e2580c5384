// virtio-blk wire format (VIRTIO 1.2 §5.2): feature bits, the device
// configuration layout, request types, status values and the little
// structures a request carries.  Shared by every virtio-blk transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace blkio::virtio {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "virtio 1.x structures are little-endian; only little-endian hosts are supported");

// Feature bits (device-type and transport).
namespace feature {
inline constexpr int size_max = 1;
inline constexpr int seg_max = 2;
inline constexpr int geometry = 4;
inline constexpr int ro = 5;
inline constexpr int blk_size = 6;
inline constexpr int flush = 9;
inline constexpr int topology = 10;
inline constexpr int config_wce = 11;
inline constexpr int mq = 12;
inline constexpr int discard = 13;
inline constexpr int write_zeroes = 14;
inline constexpr int indirect_desc = 28;
inline constexpr int event_idx = 29;
inline constexpr int version_1 = 32;
}  // namespace feature

constexpr uint64_t bit(int n) { return uint64_t{1} << n; }

// The little-endian value at `offset` of `raw` (bounds checked by the caller).
template <typename T>
T load_le(std::span<const uint8_t> raw, size_t offset) {
  T value;
  std::memcpy(&value, raw.data() + offset, sizeof value);
  return value;
}

// What a virtio-blk front end of ours is able to use (libblkio offers the
// same set).
inline constexpr uint64_t wanted_features =
    bit(feature::size_max) | bit(feature::seg_max) | bit(feature::ro) |
    bit(feature::blk_size) | bit(feature::flush) | bit(feature::topology) |
    bit(feature::config_wce) | bit(feature::mq) | bit(feature::discard) |
    bit(feature::write_zeroes) | bit(feature::event_idx) | bit(feature::version_1);

// Request types and status byte values.
enum class ReqType : uint32_t {
  in = 0,
  out = 1,
  flush = 4,
  get_id = 8,
  discard = 11,
  write_zeroes = 13,
};
inline constexpr uint8_t status_ok = 0;
inline constexpr uint8_t status_ioerr = 1;
inline constexpr uint8_t status_unsupp = 2;

// virtio-blk sectors are always 512 bytes, whatever blk_size says.
inline constexpr uint64_t sector_size = 512;
// GET_ID answers with up to this many bytes of serial number.
inline constexpr uint32_t id_bytes = 20;

struct ReqHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(ReqHeader) == 16);

// The payload of DISCARD and WRITE_ZEROES.
struct RangeSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;  // bit 0: unmap (write-zeroes only)
};
static_assert(sizeof(RangeSegment) == 16);
inline constexpr uint32_t segment_flag_unmap = 1;

// The device configuration space up to write_zeroes_may_unmap plus
// padding: 60 bytes.  Later spec versions append fields some back ends
// refuse to read (qemu-storage-daemon 7.2 fails a GET_CONFIG above 60).
inline constexpr uint32_t config_size = 60;

struct Config {
  uint64_t capacity = 0;  // in 512-byte sectors
  uint32_t size_max = 0;
  uint32_t seg_max = 0;
  uint32_t blk_size = 0;
  uint8_t physical_block_exp = 0;
  uint8_t alignment_offset = 0;
  uint16_t min_io_size = 0;
  uint32_t opt_io_size = 0;
  uint8_t writeback = 0;
  uint16_t num_queues = 0;
  uint32_t max_discard_sectors = 0;
  uint32_t max_discard_seg = 0;
  uint32_t discard_sector_alignment = 0;
  uint32_t max_write_zeroes_sectors = 0;
  uint32_t max_write_zeroes_seg = 0;
  uint8_t write_zeroes_may_unmap = 0;
};

// Decodes the configuration space; `raw` must hold config_size bytes.
Config parse_config(std::span<const uint8_t> raw);

// Geometry and limits as libblkio derives them from the negotiated
// features and the configuration (see blkio(3) and the design notes).
struct Limits {
  uint64_t capacity = 0;  // bytes
  bool read_only = false;
  int request_alignment = 512;
  int optimal_io_alignment = 512;
  int optimal_io_size = 0;
  int max_segments = 1;
  int max_segment_len = 0;  // 0: unlimited
  int max_transfer = 0;     // 0: unlimited
  bool flush_needed = false;
  bool can_flush = false;
  bool can_discard = false;
  bool can_write_zeroes = false;
  int discard_alignment = 512;
  int discard_alignment_offset = 0;
  uint64_t max_discard_len = 0;
  uint64_t max_write_zeroes_len = 0;
  int max_queues = 1;
};

Limits derive_limits(const Config& config, uint64_t features);

// Status byte to a negative errno (0 for OK).
int status_to_errno(uint8_t status);

}  // namespace blkio::virtio
