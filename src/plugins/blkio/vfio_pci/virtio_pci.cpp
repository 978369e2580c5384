#include "vfio_pci/virtio_pci.hpp"

#include "virtio/blk.hpp"

namespace blkio::vfio_pci {

namespace {

using virtio::load_le;

// struct virtio_pci_cap: cap_vndr, cap_next, cap_len, cfg_type, bar, id,
// padding[2], le32 offset, le32 length; the notify cap appends
// le32 notify_off_multiplier.
constexpr size_t cap_len_at = 2, cfg_type_at = 3, bar_at = 4, offset_at = 8, length_at = 12,
                 multiplier_at = 16;
constexpr size_t virtio_cap_size = 16, notify_cap_size = 20;
constexpr int max_bar = 5;
// A list longer than this loops: 256 bytes hold at most 48 capabilities.
constexpr int max_caps = 48;

void record(VirtioCaps& caps, std::span<const uint8_t> config, size_t at) {
  const uint8_t len = config[at + cap_len_at];
  const uint8_t type = config[at + cfg_type_at];
  const uint8_t bar = config[at + bar_at];
  if (len < virtio_cap_size || at + len > config.size() || bar > max_bar) return;
  const StructureLocation loc{bar, load_le<uint32_t>(config, at + offset_at),
                              load_le<uint32_t>(config, at + length_at)};
  const auto first = [&loc](std::optional<StructureLocation>& slot) {
    if (slot) return false;
    slot = loc;
    return true;
  };
  switch (type) {
    case cfg_type::common: first(caps.common); break;
    case cfg_type::isr: first(caps.isr); break;
    case cfg_type::device: first(caps.device); break;
    case cfg_type::notify:
      if (len >= notify_cap_size && first(caps.notify))
        caps.notify_off_multiplier = load_le<uint32_t>(config, at + multiplier_at);
      break;
    default: break;  // PCI cfg access and later types: not needed
  }
}

}  // namespace

VirtioCaps parse_virtio_caps(std::span<const uint8_t> config, std::string& why) {
  VirtioCaps caps;
  why.clear();
  if (config.size() < pci::config_space_size) {
    why = "PCI configuration space is too short";
    return caps;
  }
  if (!(load_le<uint16_t>(config, pci::status) & pci::status_capability_list)) {
    why = "the PCI function has no capability list";
    return caps;
  }
  size_t at = config[pci::capabilities_pointer] & 0xfc;
  for (int n = 0; at != 0 && n < max_caps; ++n) {
    if (at < 0x40 || at + 2 > pci::config_space_size) {
      why = "the PCI capability list points outside configuration space";
      return caps;
    }
    if (config[at] == pci::cap_id_vendor) record(caps, config, at);
    at = config[at + 1] & 0xfc;
  }
  if (!caps.common || !caps.notify || !caps.device)
    why = "no virtio-pci modern capabilities (common, notify and device configuration); "
          "is this a virtio 1.x device with disable-legacy or a modern BAR?";
  return caps;
}

std::optional<uint64_t> notify_offset(const StructureLocation& notify, uint32_t multiplier,
                                      uint16_t notify_off) {
  const uint64_t within = uint64_t{notify_off} * multiplier;
  if (within + 2 > notify.length) return std::nullopt;
  return uint64_t{notify.offset} + within;
}

bool fits_in_bar(const StructureLocation& s, uint64_t bar_size) {
  return uint64_t{s.offset} + s.length <= bar_size;
}

}  // namespace blkio::vfio_pci
