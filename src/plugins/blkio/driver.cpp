// The state machine, common properties, default memory regions and the
// registry of drivers.
#include "driver.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace blkio {

Driver::Driver(std::string name) : name_(std::move(name)) { add_common_properties(); }

Driver::~Driver() = default;

void Driver::add_common_properties() {
  PropertyTable& t = table_;
  t.add_readonly("driver", Type::string, always, [this] { return Value{name_}; });
  t.add_variable("read-only", read_only_, always, in_created);
  const auto not_negative = [](const char* what) {
    return [what](const int32_t& n) {
      if (n < 0) throw Error(EINVAL, std::string(what) + " must not be negative");
    };
  };
  t.add_variable<int32_t>("num-queues", num_queues_, after_connect, in_connected,
                          not_negative("num-queues"));
  t.add_variable<int32_t>("num-poll-queues", num_poll_queues_, after_connect, in_connected,
                          not_negative("num-poll-queues"));

  // The device's own values, known from connect on.
  DeviceInfo& i = info_;
  const auto info = [&t](const char* name, auto& field, States readable = after_connect) {
    t.add_readonly(name, type_of(Value{field}), readable, [&field] { return Value{field}; });
  };
  info("can-add-queues", i.can_add_queues, always);
  info("capacity", i.capacity);
  info("max-queues", i.max_queues);
  info("supports-poll-queues", i.supports_poll_queues);
  info("max-mem-regions", i.max_mem_regions);
  info("may-pin-mem-regions", i.may_pin_mem_regions);
  info("mem-region-alignment", i.mem_region_alignment);
  info("needs-mem-regions", i.needs_mem_regions);
  info("needs-mem-region-fd", i.needs_mem_region_fd);
  info("request-alignment", i.request_alignment);
  info("optimal-io-alignment", i.optimal_io_alignment);
  info("optimal-io-size", i.optimal_io_size);
  info("flush-needed", i.flush_needed);
  info("buf-alignment", i.buf_alignment);
  info("optimal-buf-alignment", i.optimal_buf_alignment);
  info("can-grow", i.can_grow);
  info("max-segments", i.max_segments);
  info("max-segment-len", i.max_segment_len);
  info("max-transfer", i.max_transfer);
  info("supports-fua-natively", i.supports_fua_natively);
  info("max-write-zeroes-len", i.max_write_zeroes_len);
  info("discard-alignment", i.discard_alignment);
  info("discard-alignment-offset", i.discard_alignment_offset);
  info("max-discard-len", i.max_discard_len);
}

void Driver::connect() {
  if (state_ != State::created) throw Error(EBUSY, "Device is already connected");
  do_connect();
  state_ = State::connected;
}

void Driver::start() {
  if (state_ == State::created) throw Error(ENODEV, "Device must be connected");
  if (state_ == State::started) throw Error(EBUSY, "Device is already started");
  if (num_poll_queues_ > 0 && !info_.supports_poll_queues)
    throw Error(EINVAL, "num-poll-queues must be 0: this driver has no poll queues");
  const int64_t total = int64_t(num_queues_) + num_poll_queues_;
  if (total < 1 || total > info_.max_queues)
    throw Error(EINVAL, "num-queues + num-poll-queues must be from 1 to max-queues (" +
                            std::to_string(info_.max_queues) + ")");
  queues_ = do_start();
  state_ = State::started;
}

MemRegion Driver::alloc_mem_region(size_t len) {
  if (state_ != State::started) throw Error(EBUSY, "Device must be started");
  const uint64_t align = info_.mem_region_alignment ? info_.mem_region_alignment : 1;
  if (len == 0 || len % align != 0)
    throw Error(EINVAL, "len must be a non-zero multiple of mem-region-alignment (" +
                            std::to_string(align) + ")");
  MemRegion region;
  region.len = len;
  region.fd = ::memfd_create("blkio-mem-region", MFD_CLOEXEC);
  if (region.fd == -1) throw Error(errno, std::string("memfd_create: ") + std::strerror(errno));
  void* addr = MAP_FAILED;
  if (::ftruncate(region.fd, off_t(len)) == 0)
    addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd, 0);
  if (addr == MAP_FAILED) {
    const int err = errno;
    ::close(region.fd);
    throw Error(err, std::string("allocating a memory region: ") + std::strerror(err));
  }
  region.addr = addr;
  return region;
}

void Driver::free_mem_region(const MemRegion& region) {
  if (region.addr) ::munmap(region.addr, region.len);
  if (region.fd != -1) ::close(region.fd);
}

// ---- registry -------------------------------------------------------------

namespace {

std::map<std::string, DriverFactory, std::less<>>& registry() {
  static std::map<std::string, DriverFactory, std::less<>> drivers;
  return drivers;
}

// libblkio's drivers, and why a build without one lacks it.
struct KnownDriver {
  const char* name;
  const char* missing;
};
constexpr KnownDriver known[] = {
    {"io_uring", "this build has no liburing"},
    {"nvme-io_uring", "this build has no liburing"},
    {"virtio-blk-vfio-pci", "this build has no VFIO support"},
    {"virtio-blk-vhost-user", "vhost-user is not implemented yet"},
    {"virtio-blk-vhost-vdpa", "this build has no vhost-vdpa support"},
};

}  // namespace

DriverRegistrar::DriverRegistrar(const char* name, DriverFactory make) {
  registry()[name] = make;
}

std::unique_ptr<Driver> create_driver(std::string_view name) {
  const auto it = registry().find(name);
  if (it != registry().end()) return it->second();
  for (const auto& driver : known)
    if (name == driver.name)
      throw Error(ENOTSUP, "Driver \"" + std::string(name) +
                               "\" is not supported on this build or machine: " + driver.missing);
  throw Error(ENOENT, "Unknown driver name");
}

std::vector<DriverAvailability> known_drivers() {
  std::vector<DriverAvailability> out;
  for (const auto& driver : known) {
    const bool available = registry().count(driver.name) != 0;
    out.push_back({driver.name, available, available ? "" : driver.missing});
  }
  return out;
}

}  // namespace blkio
