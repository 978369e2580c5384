// Device status and feature negotiation for the virtio transports where the
// driver itself drives the device status (VIRTIO 1.2 §3.1.1): virtio-pci
// behind VFIO and vhost-vdpa.  vhost-user has no status byte of its own and
// negotiates in its protocol instead.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace blkio::virtio {

namespace status {
inline constexpr uint8_t acknowledge = 1;
inline constexpr uint8_t driver = 2;
inline constexpr uint8_t driver_ok = 4;
inline constexpr uint8_t features_ok = 8;
inline constexpr uint8_t needs_reset = 64;
inline constexpr uint8_t failed = 128;
}  // namespace status

namespace feature {
inline constexpr int access_platform = 33;  // the device goes through an IOMMU
}

// The transport's access to the device; each call throws blkio::Error.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual uint8_t get_status() = 0;
  virtual void set_status(uint8_t status) = 0;
  virtual uint64_t device_features() = 0;
  virtual void set_driver_features(uint64_t features) = 0;
  // Reads the device-specific configuration from offset 0.
  virtual void read_config(std::span<uint8_t> out) = 0;
};

// The features to accept from `offered`: the device-type features in
// `wanted` plus the transport features the driver must accept.  Empty
// `why` when acceptable; otherwise why not: VERSION_1 missing, or one of
// `required` (the transport's must-haves) not offered.
uint64_t choose_features(uint64_t offered, uint64_t wanted, std::string& why,
                         uint64_t required = 0);

// Resets the device and runs the handshake up to FEATURES_OK (reset,
// ACKNOWLEDGE, DRIVER, features, FEATURES_OK read back).  Returns the
// negotiated features.  `who` prefixes error messages.  Throws blkio::Error;
// on failure the device is left with FAILED set.
uint64_t negotiate(Transport& t, uint64_t wanted, const std::string& who,
                   uint64_t required = 0);

// After the queues are set up: DRIVER_OK.
void set_driver_ok(Transport& t, const std::string& who);

}  // namespace blkio::virtio
