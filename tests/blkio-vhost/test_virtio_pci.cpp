// virtio-pci capability parsing from configuration space built as the
// PCI and VIRTIO 1.2 §4.1.4 specs lay it out (the layout QEMU's modern
// virtio-blk-pci exposes), and the register arithmetic built on it.
#include <gtest/gtest.h>
#include <linux/virtio_pci.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "vfio_pci/virtio_pci.hpp"

using namespace blkio::vfio_pci;

namespace {

// A 256-byte configuration space with a capability list.
struct ConfigSpace {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(256);
  uint8_t last = 0;  // the most recent capability, to chain the next one

  ConfigSpace() {
    bytes[0x06] = 0x10;  // status: capabilities list
  }
  void link(uint8_t at) {
    if (last == 0)
      bytes[0x34] = at;
    else
      bytes[last + 1] = at;
    last = at;
  }
  void put32(size_t at, uint32_t v) { std::memcpy(&bytes[at], &v, 4); }
  // A non-virtio capability (MSI-X has id 0x11).
  void other(uint8_t at, uint8_t id) {
    link(at);
    bytes[at] = id;
  }
  void virtio(uint8_t at, uint8_t type, uint8_t bar, uint32_t offset, uint32_t length,
              uint32_t multiplier = 0) {
    link(at);
    bytes[at] = 0x09;
    bytes[at + 2] = type == cfg_type::notify ? 20 : 16;
    bytes[at + 3] = type;
    bytes[at + 4] = bar;
    put32(at + 8, offset);
    put32(at + 12, length);
    if (type == cfg_type::notify) put32(at + 16, multiplier);
  }
};

// QEMU 7.2's virtio-blk-pci with disable-legacy=on, as seen in a guest:
// MSI-X, then the PCI cfg access cap and the four structures in BAR 4.
ConfigSpace qemu_like() {
  ConfigSpace c;
  c.other(0x98, 0x11);
  c.virtio(0x84, cfg_type::pci, 0, 0, 0);
  c.virtio(0x70, cfg_type::notify, 4, 0x3000, 0x1000, 4);
  c.virtio(0x60, cfg_type::device, 4, 0x2000, 0x1000);
  c.virtio(0x50, cfg_type::isr, 4, 0x1000, 0x1000);
  c.virtio(0x40, cfg_type::common, 4, 0, 0x1000);
  return c;
}

}  // namespace

TEST(VirtioPciCaps, FindsTheFourStructures) {
  std::string why;
  const VirtioCaps caps = parse_virtio_caps(qemu_like().bytes, why);
  ASSERT_EQ(why, "");
  ASSERT_TRUE(caps.common && caps.notify && caps.isr && caps.device);
  EXPECT_EQ(caps.common->bar, 4);
  EXPECT_EQ(caps.common->offset, 0u);
  EXPECT_EQ(caps.isr->offset, 0x1000u);
  EXPECT_EQ(caps.device->offset, 0x2000u);
  EXPECT_EQ(caps.notify->offset, 0x3000u);
  EXPECT_EQ(caps.notify->length, 0x1000u);
  EXPECT_EQ(caps.notify_off_multiplier, 4u);
}

TEST(VirtioPciCaps, TheFirstOfATypeCounts) {
  ConfigSpace c = qemu_like();
  c.virtio(0xb0, cfg_type::common, 2, 0x8000, 0x100);
  std::string why;
  const VirtioCaps caps = parse_virtio_caps(c.bytes, why);
  EXPECT_EQ(caps.common->bar, 4);
  EXPECT_EQ(caps.common->offset, 0u);
}

TEST(VirtioPciCaps, IgnoresBarsAboveFiveAndShortCaps) {
  ConfigSpace c;
  c.virtio(0x40, cfg_type::common, 6, 0, 0x1000);   // no such BAR
  c.virtio(0x50, cfg_type::common, 1, 0x40, 0x40);  // the one to use
  c.virtio(0x60, cfg_type::device, 1, 0x100, 0x40);
  c.virtio(0x70, cfg_type::notify, 1, 0x200, 0x40, 2);
  c.bytes[0x70 + 2] = 16;  // a notify cap without its multiplier
  c.virtio(0x88, cfg_type::notify, 1, 0x300, 0x40, 8);
  std::string why;
  const VirtioCaps caps = parse_virtio_caps(c.bytes, why);
  ASSERT_EQ(why, "");
  EXPECT_EQ(caps.common->bar, 1);
  EXPECT_EQ(caps.common->offset, 0x40u);
  EXPECT_EQ(caps.notify->offset, 0x300u);
  EXPECT_EQ(caps.notify_off_multiplier, 8u);
}

TEST(VirtioPciCaps, ExplainsWhatIsMissing) {
  std::string why;
  ConfigSpace none;
  none.bytes[0x06] = 0;
  parse_virtio_caps(none.bytes, why);
  EXPECT_NE(why.find("no capability list"), std::string::npos) << why;

  ConfigSpace legacy;  // only MSI-X: a legacy-only virtio device
  legacy.other(0x40, 0x11);
  parse_virtio_caps(legacy.bytes, why);
  EXPECT_NE(why.find("modern capabilities"), std::string::npos) << why;

  ConfigSpace wild;
  wild.bytes[0x34] = 0x20;  // inside the header
  parse_virtio_caps(wild.bytes, why);
  EXPECT_NE(why.find("outside"), std::string::npos) << why;

  parse_virtio_caps(std::vector<uint8_t>(64), why);
  EXPECT_NE(why.find("too short"), std::string::npos) << why;
}

TEST(VirtioPciCaps, ALoopingListEnds) {
  ConfigSpace c = qemu_like();
  c.bytes[0x40 + 1] = 0x98;  // the last cap points back at the first
  std::string why;
  const VirtioCaps caps = parse_virtio_caps(c.bytes, why);
  EXPECT_EQ(why, "");
  EXPECT_TRUE(caps.common.has_value());
}

TEST(VirtioPciCaps, LayoutsMatchTheKernelHeaders) {
  EXPECT_EQ(offsetof(virtio_pci_cap, cfg_type), 3u);
  EXPECT_EQ(offsetof(virtio_pci_cap, bar), 4u);
  EXPECT_EQ(offsetof(virtio_pci_cap, offset), 8u);
  EXPECT_EQ(offsetof(virtio_pci_cap, length), 12u);
  EXPECT_EQ(sizeof(virtio_pci_notify_cap), 20u);
  EXPECT_EQ(VIRTIO_PCI_CAP_COMMON_CFG, cfg_type::common);
  EXPECT_EQ(VIRTIO_PCI_CAP_NOTIFY_CFG, cfg_type::notify);
  EXPECT_EQ(VIRTIO_PCI_CAP_ISR_CFG, cfg_type::isr);
  EXPECT_EQ(VIRTIO_PCI_CAP_DEVICE_CFG, cfg_type::device);
  using C = virtio_pci_common_cfg;
  EXPECT_EQ(offsetof(C, device_feature_select), common::device_feature_select);
  EXPECT_EQ(offsetof(C, device_feature), common::device_feature);
  EXPECT_EQ(offsetof(C, guest_feature_select), common::driver_feature_select);
  EXPECT_EQ(offsetof(C, guest_feature), common::driver_feature);
  EXPECT_EQ(offsetof(C, msix_config), common::msix_config);
  EXPECT_EQ(offsetof(C, num_queues), common::num_queues);
  EXPECT_EQ(offsetof(C, device_status), common::device_status);
  EXPECT_EQ(offsetof(C, config_generation), common::config_generation);
  EXPECT_EQ(offsetof(C, queue_select), common::queue_select);
  EXPECT_EQ(offsetof(C, queue_size), common::queue_size);
  EXPECT_EQ(offsetof(C, queue_msix_vector), common::queue_msix_vector);
  EXPECT_EQ(offsetof(C, queue_enable), common::queue_enable);
  EXPECT_EQ(offsetof(C, queue_notify_off), common::queue_notify_off);
  EXPECT_EQ(offsetof(C, queue_desc_lo), common::queue_desc);
  EXPECT_EQ(offsetof(C, queue_avail_lo), common::queue_driver);
  EXPECT_EQ(offsetof(C, queue_used_lo), common::queue_device);
  EXPECT_EQ(sizeof(C), common::size);
}

TEST(VirtioPciNotify, OffsetIsQueueNotifyOffTimesMultiplier) {
  const StructureLocation notify{4, 0x3000, 0x1000};
  EXPECT_EQ(notify_offset(notify, 4, 0), 0x3000u);
  EXPECT_EQ(notify_offset(notify, 4, 3), 0x300cu);
  EXPECT_EQ(notify_offset(notify, 4, 1023), 0x3ffcu);  // the last register that fits
  EXPECT_EQ(notify_offset(notify, 4, 1024), std::nullopt);
  // A multiplier of 0: every queue shares one register.
  EXPECT_EQ(notify_offset(notify, 0, 7), 0x3000u);
  // No 16-bit write past the end.
  EXPECT_EQ(notify_offset({0, 0, 3}, 2, 1), std::nullopt);
  EXPECT_EQ(notify_offset({0, 0, 4}, 2, 1), 2u);
}

TEST(VirtioPciNotify, StructuresMustFitTheirBar) {
  EXPECT_TRUE(fits_in_bar({4, 0x3000, 0x1000}, 0x4000));
  EXPECT_FALSE(fits_in_bar({4, 0x3000, 0x1001}, 0x4000));
  EXPECT_FALSE(fits_in_bar({4, 0xffffffff, 0xffffffff}, 0x4000));  // no 32-bit overflow
}
