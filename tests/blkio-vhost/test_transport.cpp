// The status handshake shared by the vfio-pci and vhost-vdpa transports
// (VIRTIO 1.2 §3.1.1), run against a device model that keeps the rules a
// real device keeps: reset reads back 0, FEATURES_OK sticks only for
// features it offered; plus the IOVA allocator both transports use.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "properties.hpp"
#include "virtio/blk.hpp"
#include "virtio/queue_parts.hpp"
#include "virtio/transport.hpp"

using namespace blkio::virtio;

namespace {

class ModelDevice final : public Transport {
 public:
  explicit ModelDevice(uint64_t offered) : offered_(offered) {}
  uint8_t get_status() override { return resets_pending_ > 0 ? --resets_pending_, 1 : status_; }
  void set_status(uint8_t s) override {
    writes.push_back(s);
    // FEATURES_OK only sticks when the driver took nothing we lack.
    if ((s & status::features_ok) && (accepted & ~offered_)) s &= uint8_t(~status::features_ok);
    if (refuse_features) s &= uint8_t(~status::features_ok);
    status_ = s;
  }
  uint64_t device_features() override { return offered_; }
  void set_driver_features(uint64_t f) override { accepted = f; }
  void read_config(std::span<uint8_t>) override {}

  std::vector<uint8_t> writes;
  uint64_t accepted = 0;
  bool refuse_features = false;
  int resets_pending_ = 0;  // get_status() reads non-zero this many times after a reset

 private:
  uint64_t offered_;
  uint8_t status_ = 0;
};

int error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const blkio::Error& e) {
    return e.err();
  }
  return 0;
}

constexpr uint64_t qemu_blk = bit(feature::version_1) | bit(feature::flush) |
                              bit(feature::seg_max) | bit(feature::blk_size) |
                              bit(feature::indirect_desc) | bit(feature::event_idx) |
                              bit(28 + 2);  // bit 30, not ours

}  // namespace

TEST(VirtioHandshake, StatusSequence) {
  ModelDevice d(qemu_blk);
  const uint64_t f = negotiate(d, wanted_features, "test");
  set_driver_ok(d, "test");
  const std::vector<uint8_t> expected{0, 1, 3, 11, 15};
  EXPECT_EQ(d.writes, expected);
  EXPECT_EQ(f, d.accepted);
  EXPECT_EQ(f, bit(feature::version_1) | bit(feature::flush) | bit(feature::seg_max) |
                   bit(feature::blk_size) | bit(feature::event_idx));
}

TEST(VirtioHandshake, WaitsForTheReset) {
  ModelDevice d(qemu_blk);
  d.resets_pending_ = 3;
  EXPECT_EQ(error_of([&] { negotiate(d, wanted_features, "test"); }), 0);
  ModelDevice stuck(qemu_blk);
  stuck.resets_pending_ = 100000;
  EXPECT_EQ(error_of([&] { negotiate(stuck, wanted_features, "test"); }), EIO);
}

TEST(VirtioHandshake, AcceptsAccessPlatform) {
  ModelDevice d(qemu_blk | bit(feature::access_platform));
  const uint64_t f = negotiate(d, wanted_features, "test");
  EXPECT_TRUE(f & bit(feature::access_platform));
}

TEST(VirtioHandshake, LegacyDeviceFails) {
  ModelDevice d(qemu_blk & ~bit(feature::version_1));
  EXPECT_EQ(error_of([&] { negotiate(d, wanted_features, "test"); }), ENOTSUP);
  EXPECT_EQ(d.writes.back(), status::failed);
}

TEST(VirtioHandshake, RefusedFeaturesFail) {
  ModelDevice d(qemu_blk);
  d.refuse_features = true;
  EXPECT_EQ(error_of([&] { negotiate(d, wanted_features, "test"); }), ENOTSUP);
  EXPECT_EQ(d.writes.back(), status::failed);
}

TEST(VirtioHandshake, ChooseFeatures) {
  std::string why;
  EXPECT_EQ(choose_features(qemu_blk, 0, why), bit(feature::version_1));
  EXPECT_EQ(why, "");
  EXPECT_EQ(choose_features(bit(feature::flush), wanted_features, why), 0u);
  EXPECT_NE(why.find("VERSION_1"), std::string::npos);
}

TEST(IovaSpace, PageAlignedAndBounded) {
  IovaSpace s(0x1001, 0x5fff);
  EXPECT_EQ(s.allocate(1), 0x2000u);
  EXPECT_EQ(s.allocate(0x1000), 0x3000u);
  EXPECT_EQ(s.allocate(0x2001), std::nullopt);  // would pass 0x5fff
  EXPECT_EQ(s.allocate(0x2000), 0x4000u);
  EXPECT_EQ(s.allocate(1), std::nullopt);
  EXPECT_EQ(s.allocate(0), std::nullopt);
  IovaSpace top(0xfffffffffffff000, 0xffffffffffffffff);
  EXPECT_EQ(top.allocate(0x1000), 0xfffffffffffff000u);
  EXPECT_EQ(top.allocate(0x1000), std::nullopt);  // no wrap-around
}

TEST(IovaSpace, DefaultAvoidsTheMsiWindow) {
  IovaSpace s(default_iova_first, default_iova_last);
  const auto a = s.allocate(1 << 20);
  ASSERT_TRUE(a);
  EXPECT_GE(*a, uint64_t{1} << 32);
}

TEST(VirtioHandshake, RequiredTransportFeatures) {
  // vfio-pci needs ACCESS_PLATFORM: without it the device's DMA would
  // bypass the IOMMU (QEMU's default for virtio-blk-pci).
  const uint64_t required = bit(feature::access_platform);
  ModelDevice bypassing(qemu_blk);
  EXPECT_EQ(error_of([&] { negotiate(bypassing, wanted_features, "test", required); }), ENOTSUP);
  EXPECT_EQ(bypassing.writes.back(), status::failed);
  std::string why;
  choose_features(qemu_blk, wanted_features, why, required);
  EXPECT_NE(why.find("iommu_platform=on"), std::string::npos) << why;
  ModelDevice translated(qemu_blk | required);
  EXPECT_TRUE(negotiate(translated, wanted_features, "test", required) & required);
}
