// nbdkit blkio [driver=]DRIVER [path=PATH] [num-queues=N] [PROPERTY=VALUE ...]
//   [get=PROPERTY ...]
// Serves a block device through one of libblkio's drivers, implemented
// here (driver.hpp): every PROPERTY=VALUE is a driver property, set in
// the state that accepts it (nbdkit-blkio-plugin(1)).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include <nbdkit/plugin.hpp>

#include "device.hpp"
#include "driver.hpp"

namespace {

using blkio::Device;

class BlkioContext final : public nbdkit::Context {
 public:
  BlkioContext(Device& device, bool readonly) : device_(device), readonly_(readonly) {}

  uint64_t get_size() override { return device_.size(); }
  std::optional<nbdkit::BlockSize> block_size() override { return device_.block_size(); }
  bool can_write() override { return !readonly_ && !device_.read_only(); }
  bool can_flush() override { return device_.info().supports_flush; }
  bool can_trim() override { return can_write() && device_.info().supports_discard; }
  bool can_zero() override { return can_write() && device_.info().supports_write_zeroes; }
  bool can_fast_zero() override { return can_zero(); }
  // The driver does FUA itself (natively or by a flush after the write).
  nbdkit::FuaSupport can_fua() override {
    return can_write() ? nbdkit::FuaSupport::native : nbdkit::FuaSupport::none;
  }
  // Every connection shares one device, so a flush covers all of them.
  bool can_multi_conn() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return device_.pread(buf, count, offset);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return device_.pwrite(buf, count, offset, flags & nbdkit::flags::fua);
  }
  int flush(uint32_t) override { return device_.flush(); }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return device_.trim(count, offset, flags & nbdkit::flags::fua);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return device_.zero(count, offset, flags);
  }

 private:
  Device& device_;
  bool readonly_;
};

class BlkioPlugin final : public nbdkit::Plugin {
 public:
  std::string config_help() const override {
    return "[driver=]<DRIVER> (required) io_uring, virtio-blk-vhost-user, nvme-io_uring,\n"
           "                  virtio-blk-vfio-pci or virtio-blk-vhost-vdpa.\n"
           "path=<PATH>       The file, device or socket the driver opens.\n"
           "num-queues=<N>    Queues, one request in flight on each (default 16).\n"
           "PROPERTY=VALUE    Set any other driver property (direct=true, num-entries=N...).\n"
           "get=PROPERTY      Print a property's value in the debug output (-v).";
  }
  const char* magic_config_key() const override { return "driver"; }

  void dump_plugin(std::ostream& out) const override {
    for (const auto& driver : blkio::known_drivers())
      out << "blkio_driver_" << driver.name << '=' << (driver.available ? "yes" : "no") << '\n';
  }

  void config(std::string_view key, std::string_view value) override;
  void config_complete() override;
  void get_ready() override;
  void cleanup() override { device_.reset(); }
  std::unique_ptr<nbdkit::Context> open(bool readonly, std::string_view, bool) override;

 private:
  void check_property(blkio::Driver& probe, const std::string& key, const std::string& value);

  blkio::DeviceSettings settings_;
  std::mutex mutex_;
  std::unique_ptr<Device> device_;
};

void BlkioPlugin::config(std::string_view key, std::string_view value) {
  if (key == "driver") {
    if (!settings_.driver.empty()) throw nbdkit::Error("'driver' property set more than once");
    settings_.driver = value;
  } else if (key == "get") {
    settings_.gets.emplace_back(value);
  } else if (key == "read-only") {
    throw nbdkit::Error(
        "do not set the libblkio \"read-only\" parameter, use the nbdkit -r flag if read-only "
        "is required");
  } else if (key == "path") {
    // The server may change directory (daemon mode) before the device is
    // opened.
    settings_.properties.emplace_back(key, nbdkit::absolute_path(value));
  } else {
    settings_.properties.emplace_back(key, value);
  }
}

// A property the driver does not have, may not be set, or whose value it
// refuses fails now rather than at the first connection.
void BlkioPlugin::check_property(blkio::Driver& probe, const std::string& key,
                                 const std::string& value) {
  try {
    const blkio::Property* property = probe.properties().find(key);
    if (property && blkio::includes(property->writable, blkio::State::created)) {
      probe.set(key, value);
    } else if (property && property->writable != blkio::never) {
      // Not settable yet: the probe's setter still checks the value.
      property->set(blkio::parse_value(property->type, value));
    } else {
      probe.set(key, value);  // throws libblkio's error
    }
  } catch (const blkio::Error& e) {
    throw blkio::Error(e.err(), "error setting property: " + key + "=" + value + ": " + e.what());
  }
}

void BlkioPlugin::config_complete() {
  if (settings_.driver.empty())
    throw nbdkit::Error(
        "you must supply the driver=<DRIVER> parameter after the plugin name on the command "
        "line");
  std::unique_ptr<blkio::Driver> probe;
  try {
    probe = blkio::create_driver(settings_.driver);
  } catch (const blkio::Error& e) {
    throw blkio::Error(e.err(), "blkio_create: error opening driver: " + settings_.driver +
                                    ": " + e.what());
  }
  for (const auto& [key, value] : settings_.properties) check_property(*probe, key, value);
}

void BlkioPlugin::get_ready() {
  // The device itself is opened by the first client (whose -r it
  // follows); a path that is not there is an error now.
  for (const auto& [key, value] : settings_.properties) {
    struct stat st;
    if (key == "path" && ::stat(value.c_str(), &st) == -1) {
      const int err = errno;
      throw nbdkit::Error("path=" + value + ": " + std::strerror(err), err);
    }
  }
}

std::unique_ptr<nbdkit::Context> BlkioPlugin::open(bool readonly, std::string_view, bool) {
  std::lock_guard lock(mutex_);
  // One device for every connection: a vhost-user backend such as
  // qemu-storage-daemon serves only one front end at a time, and the
  // queues are shared out per request anyway.
  if (!device_) device_ = std::make_unique<Device>(settings_, readonly);
  return std::make_unique<BlkioContext>(*device_, readonly);
}

}  // namespace

NBDKIT_REGISTER_PLUGIN("blkio", BlkioPlugin);
