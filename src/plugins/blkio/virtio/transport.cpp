#include "virtio/transport.hpp"

#include <cerrno>
#include <cstdio>

#include "properties.hpp"
#include "virtio/blk.hpp"

namespace blkio::virtio {

namespace {

std::string to_hex(uint64_t n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

uint64_t choose_features(uint64_t offered, uint64_t wanted, std::string& why,
                         uint64_t required) {
  why.clear();
  if (!(offered & bit(feature::version_1))) {
    why = "the device does not offer VIRTIO_F_VERSION_1 (legacy devices are not supported)";
    return 0;
  }
  const uint64_t missing = required & ~offered;
  if (missing & bit(feature::access_platform)) {
    why = "the device does not offer VIRTIO_F_ACCESS_PLATFORM: its DMA would bypass the IOMMU "
          "and miss our IOVAs (with QEMU, add iommu_platform=on to the device)";
    return 0;
  }
  if (missing) {
    why = "the device lacks required features (bits 0x" + to_hex(missing) + ")";
    return 0;
  }
  // ACCESS_PLATFORM: the device reaches memory through an IOMMU, which is
  // exactly how we give it addresses (IOVAs); a device that offers it may
  // refuse FEATURES_OK without it.
  const uint64_t transport = bit(feature::version_1) | bit(feature::access_platform);
  return offered & (wanted | transport);
}

uint64_t negotiate(Transport& t, uint64_t wanted, const std::string& who, uint64_t required) {
  t.set_status(0);
  // A reset completes when the device reads back 0 (VIRTIO 1.2 §4.1.4.3.2).
  for (int i = 0; t.get_status() != 0; ++i)
    if (i == 1000) throw Error(EIO, who + ": the device does not finish its reset");
  t.set_status(status::acknowledge);
  t.set_status(status::acknowledge | status::driver);
  std::string why;
  const uint64_t features = choose_features(t.device_features(), wanted, why, required);
  const auto give_up = [&](const std::string& reason) {
    t.set_status(status::failed);
    return Error(ENOTSUP, who + ": " + reason);
  };
  if (!why.empty()) throw give_up(why);
  t.set_driver_features(features);
  const uint8_t want = status::acknowledge | status::driver | status::features_ok;
  t.set_status(want);
  if ((t.get_status() & status::features_ok) == 0)
    throw give_up("the device did not accept the features (FEATURES_OK not set)");
  return features;
}

void set_driver_ok(Transport& t, const std::string& who) {
  const uint8_t ok = status::acknowledge | status::driver | status::features_ok | status::driver_ok;
  t.set_status(ok);
  if (t.get_status() & (status::needs_reset | status::failed))
    throw Error(EIO, who + ": the device failed after DRIVER_OK");
}

}  // namespace blkio::virtio
