#include "blk.hpp"

#include <cerrno>
#include <cstring>

namespace blkio::virtio {

namespace {

// An int property from a 64-bit product, saturated: libblkio's int
// properties cannot say more than INT32_MAX.
int clamp_int(uint64_t value) { return value > 0x7fffffff ? 0x7fffffff : int(value); }

}  // namespace

Config parse_config(std::span<const uint8_t> raw) {
  Config c;
  if (raw.size() < config_size) return c;
  c.capacity = load_le<uint64_t>(raw, 0);
  c.size_max = load_le<uint32_t>(raw, 8);
  c.seg_max = load_le<uint32_t>(raw, 12);
  c.blk_size = load_le<uint32_t>(raw, 20);
  c.physical_block_exp = raw[24];
  c.alignment_offset = raw[25];
  c.min_io_size = load_le<uint16_t>(raw, 26);
  c.opt_io_size = load_le<uint32_t>(raw, 28);
  c.writeback = raw[32];
  c.num_queues = load_le<uint16_t>(raw, 34);
  c.max_discard_sectors = load_le<uint32_t>(raw, 36);
  c.max_discard_seg = load_le<uint32_t>(raw, 40);
  c.discard_sector_alignment = load_le<uint32_t>(raw, 44);
  c.max_write_zeroes_sectors = load_le<uint32_t>(raw, 48);
  c.max_write_zeroes_seg = load_le<uint32_t>(raw, 52);
  c.write_zeroes_may_unmap = raw[56];
  return c;
}

Limits derive_limits(const Config& config, uint64_t features) {
  const auto has = [features](int f) { return (features & bit(f)) != 0; };
  Limits l;
  l.capacity = config.capacity * sector_size;
  l.read_only = has(feature::ro);
  const uint32_t block = has(feature::blk_size) && config.blk_size >= 512 ? config.blk_size : 512;
  l.request_alignment = clamp_int(block);
  l.optimal_io_alignment = l.request_alignment;
  l.discard_alignment = l.request_alignment;
  if (has(feature::topology)) {
    if (config.physical_block_exp < 16)
      l.optimal_io_alignment = clamp_int(uint64_t{block} << config.physical_block_exp);
    l.optimal_io_size = clamp_int(uint64_t{block} * config.opt_io_size);
    l.discard_alignment_offset = clamp_int(uint64_t{block} * config.alignment_offset);
  }
  if (has(feature::seg_max) && config.seg_max > 0) l.max_segments = clamp_int(config.seg_max);
  if (has(feature::size_max)) l.max_segment_len = clamp_int(config.size_max);
  if (has(feature::seg_max) && has(feature::size_max))
    l.max_transfer = clamp_int(uint64_t{config.seg_max} * config.size_max);
  l.can_flush = has(feature::flush);
  l.flush_needed = has(feature::config_wce) ? config.writeback != 0 : l.can_flush;
  l.can_discard = has(feature::discard);
  if (l.can_discard) {
    if (config.discard_sector_alignment > 0)
      l.discard_alignment = clamp_int(uint64_t{config.discard_sector_alignment} * sector_size);
    l.max_discard_len = uint64_t{config.max_discard_sectors} * sector_size;
  }
  l.can_write_zeroes = has(feature::write_zeroes);
  if (l.can_write_zeroes)
    l.max_write_zeroes_len = uint64_t{config.max_write_zeroes_sectors} * sector_size;
  l.max_queues = has(feature::mq) && config.num_queues > 0 ? config.num_queues : 1;
  return l;
}

int status_to_errno(uint8_t status) {
  switch (status) {
    case status_ok: return 0;
    case status_unsupp: return -ENOTSUP;
    default: return -EIO;
  }
}

}  // namespace blkio::virtio
