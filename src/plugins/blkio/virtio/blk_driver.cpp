#include "virtio/blk_driver.hpp"

#include <algorithm>
#include <cerrno>

namespace blkio::virtio {

BlkDriver::BlkDriver(std::string name, bool takes_fd) : Driver(std::move(name)) {
  PropertyTable& t = table();
  t.add_variable("path", path_, always, in_created);
  if (!takes_fd) {
    // libblkio: only vhost-vdpa takes an already open descriptor.
    const std::string refusal = this->name() + " doesn't support the fd property";
    t.add(Property{"fd", Type::int32, never, in_created, [] { return Value{int32_t(-1)}; },
                   [refusal](const Value&) { throw Error(EINVAL, refusal); }});
  }
  t.add_variable<int32_t>("queue-size", queue_size_, after_connect, in_connected,
                          [](const int32_t& n) {
                            if (n < 1 || n > max_queue_size || (n & (n - 1)) != 0)
                              throw Error(EINVAL,
                                          "queue-size must be a power of two from 1 to 32768");
                          });
  t.add_readonly("max-queue-size", Type::int32, after_connect,
                 [] { return Value{max_queue_size}; });
}

void BlkDriver::set_info(const Limits& l, uint64_t max_mem_regions, bool needs_mem_region_fd) {
  DeviceInfo& i = info_;
  i.capacity = l.capacity;
  i.max_queues = max_lanes;
  i.can_add_queues = false;
  i.supports_poll_queues = false;
  i.max_mem_regions = max_mem_regions;
  i.may_pin_mem_regions = true;
  i.mem_region_alignment = 4096;  // regions are mapped page by page for the device
  i.needs_mem_regions = true;
  i.needs_mem_region_fd = needs_mem_region_fd;
  i.request_alignment = l.request_alignment;
  i.optimal_io_alignment = l.optimal_io_alignment;
  i.optimal_io_size = l.optimal_io_size;
  i.flush_needed = l.flush_needed;
  i.buf_alignment = 1;
  i.optimal_buf_alignment = 4096;
  i.can_grow = false;
  i.max_segments = l.max_segments;
  i.max_segment_len = l.max_segment_len;
  i.max_transfer = l.max_transfer;
  i.supports_fua_natively = false;
  i.max_write_zeroes_len = l.max_write_zeroes_len;
  i.discard_alignment = l.discard_alignment;
  i.discard_alignment_offset = l.discard_alignment_offset;
  i.max_discard_len = l.max_discard_len;
  i.supports_write_zeroes = l.can_write_zeroes;
  i.supports_discard = l.can_discard;
  i.supports_flush = l.can_flush;
}

void BlkDriver::check_writable(const Limits& l) const {
  if (l.read_only && !read_only_) throw Error(EROFS, "Device is read-only");
}

int BlkDriver::virtqueues_wanted(const Limits& l) const {
  return std::min(num_queues_, l.max_queues);
}

std::vector<std::unique_ptr<Queue>> BlkDriver::make_lanes(const std::vector<RingSetup>& setups,
                                                          const Limits& l) {
  for (const RingSetup& s : setups) rings_.push_back(std::make_unique<SharedRing>(s));
  std::vector<std::unique_ptr<Queue>> queues;
  for (int q = 0; q < num_queues_; ++q)
    queues.push_back(
        std::make_unique<BlkQueue>(*rings_[size_t(q) % rings_.size()], l, read_only_));
  return queues;
}

std::vector<std::unique_ptr<Queue>> BlkDriver::start_pinned(PinnedDevice& device) {
  check_writable(device.limits());
  device.start(virtqueues_wanted(device.limits()), uint16_t(queue_size_));
  std::vector<RingSetup> setups;
  for (int q = 0; q < device.num_queues(); ++q)
    setups.push_back(device.queue(q).setup(device.address_map(), -1, ""));
  return make_lanes(setups, device.limits());
}

}  // namespace blkio::virtio
