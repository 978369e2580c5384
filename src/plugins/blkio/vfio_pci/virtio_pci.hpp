// virtio over PCI, modern interface (VIRTIO 1.2 §4.1): finding the
// virtio structures through the vendor capabilities in PCI configuration
// space, and the register layout of the common configuration structure.
// Pure functions, no device access: the VFIO driver reads the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace blkio::vfio_pci {

// PCI configuration space offsets (PCI Local Bus spec).
namespace pci {
inline constexpr size_t command = 0x04;
inline constexpr size_t status = 0x06;
inline constexpr size_t capabilities_pointer = 0x34;
inline constexpr uint16_t status_capability_list = 0x10;
inline constexpr uint16_t command_memory = 0x02;
inline constexpr uint16_t command_bus_master = 0x04;
inline constexpr uint8_t cap_id_vendor = 0x09;
inline constexpr size_t config_space_size = 256;  // where the standard capability list lives
}  // namespace pci

// Where one virtio structure lives: BAR number and byte range in it.
struct StructureLocation {
  uint8_t bar = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// The structures a driver needs; the notify structure carries its
// multiplier.  The first capability of each type counts (§4.1.4: the
// driver uses the first it can).
struct VirtioCaps {
  std::optional<StructureLocation> common, notify, isr, device;
  uint32_t notify_off_multiplier = 0;
};

// cfg_type values of struct virtio_pci_cap.
namespace cfg_type {
inline constexpr uint8_t common = 1;
inline constexpr uint8_t notify = 2;
inline constexpr uint8_t isr = 3;
inline constexpr uint8_t device = 4;
inline constexpr uint8_t pci = 5;
}  // namespace cfg_type

// Walks the capability list of `config` (at least the first 256 bytes of
// configuration space).  Empty `why` on success; otherwise what is
// missing or malformed.  Caps pointing at BARs above 5 are ignored.
VirtioCaps parse_virtio_caps(std::span<const uint8_t> config, std::string& why);

// Byte offsets in the common configuration structure
// (struct virtio_pci_common_cfg).
namespace common {
inline constexpr size_t device_feature_select = 0;
inline constexpr size_t device_feature = 4;
inline constexpr size_t driver_feature_select = 8;
inline constexpr size_t driver_feature = 12;
inline constexpr size_t msix_config = 16;
inline constexpr size_t num_queues = 18;
inline constexpr size_t device_status = 20;
inline constexpr size_t config_generation = 21;
inline constexpr size_t queue_select = 22;
inline constexpr size_t queue_size = 24;
inline constexpr size_t queue_msix_vector = 26;
inline constexpr size_t queue_enable = 28;
inline constexpr size_t queue_notify_off = 30;
inline constexpr size_t queue_desc = 32;
inline constexpr size_t queue_driver = 40;
inline constexpr size_t queue_device = 48;
inline constexpr size_t size = 56;
}  // namespace common

inline constexpr uint16_t no_vector = 0xffff;  // VIRTIO_MSI_NO_VECTOR

// The offset in the notify structure's BAR of the register for a queue
// whose queue_notify_off is `notify_off`; nothing when it falls outside
// the notify structure (a 16-bit write must fit).
std::optional<uint64_t> notify_offset(const StructureLocation& notify, uint32_t multiplier,
                                      uint16_t notify_off);

// Whether a structure lies inside a BAR of `bar_size` bytes.
bool fits_in_bar(const StructureLocation& s, uint64_t bar_size);

}  // namespace blkio::vfio_pci
