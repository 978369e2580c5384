// The virtio-blk-vhost-user driver: a virtio-blk device behind a
// vhost-user back end's Unix socket (qemu-storage-daemon's vhost-user-blk
// export, for one), with libblkio's properties: `path` (the socket),
// `queue-size`, `max-queue-size`, and the common ones derived from the
// device's features and configuration.
#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "driver.hpp"
#include "vhost_user/device.hpp"
#include "virtio/blk_queue.hpp"

namespace blkio {

namespace {

constexpr int32_t max_queue_size = 32768;
// Queues beyond the device's virtqueues share them (see blk_queue.hpp):
// max-queues says how many we offer, not how many virtqueues there are.
constexpr int32_t max_lanes = 64;

class VhostUserDriver final : public Driver {
 public:
  VhostUserDriver() : Driver("virtio-blk-vhost-user") {
    PropertyTable& t = table();
    t.add_variable("path", path_, always, in_created);
    // libblkio: only vhost-vdpa takes an already open descriptor.
    t.add(Property{"fd", Type::int32, never, in_created, [] { return Value{int32_t(-1)}; },
                   [](const Value&) {
                     throw Error(EINVAL, "virtio-blk-vhost-user doesn't support the fd property");
                   }});
    t.add_variable<int32_t>("queue-size", queue_size_, after_connect, in_connected,
                            [](const int32_t& n) {
                              if (n < 1 || n > max_queue_size || (n & (n - 1)) != 0)
                                throw Error(EINVAL,
                                            "queue-size must be a power of two from 1 to 32768");
                            });
    t.add_readonly("max-queue-size", Type::int32, after_connect,
                   [] { return Value{max_queue_size}; });
  }

  void map_mem_region(const MemRegion& r) override {
    std::string message;
    if (const int e = device_.map_region({r.addr, r.len, r.fd, uint64_t(r.fd_offset)}, message))
      throw Error(-e, message);
  }
  void unmap_mem_region(const MemRegion& r) override {
    std::string message;
    if (const int e = device_.unmap_region(r.addr, message)) throw Error(-e, message);
  }

 protected:
  void do_connect() override;
  std::vector<std::unique_ptr<Queue>> do_start() override;

 private:
  std::string path_;
  int32_t queue_size_ = 256;
  vhost_user::Device device_;
  std::vector<std::unique_ptr<virtio::SharedRing>> rings_;
};

void VhostUserDriver::do_connect() {
  if (path_.empty()) throw Error(EINVAL, "path must be set");
  std::string message;
  if (const int e = device_.connect(path_, message)) throw Error(-e, message);
  const virtio::Limits& l = device_.limits();
  DeviceInfo& i = info_;
  i.capacity = l.capacity;
  i.max_queues = max_lanes;
  i.can_add_queues = false;
  i.supports_poll_queues = false;
  i.max_mem_regions = device_.max_regions();
  i.may_pin_mem_regions = true;
  i.mem_region_alignment = 4096;  // regions are mmapped by the back end
  i.needs_mem_regions = true;
  i.needs_mem_region_fd = true;
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

std::vector<std::unique_ptr<Queue>> VhostUserDriver::do_start() {
  if (device_.limits().read_only && !read_only_) throw Error(EROFS, "Device is read-only");
  std::string message;
  const int virtqueues = std::min(num_queues_, device_.limits().max_queues);
  if (const int e = device_.start(virtqueues, uint16_t(queue_size_), message))
    throw Error(-e, message);
  for (int q = 0; q < virtqueues; ++q) {
    vhost_user::QueueParts& parts = device_.queue(q);
    rings_.push_back(std::make_unique<virtio::SharedRing>(virtio::RingSetup{
        parts.ring.get(), &device_.address_map(), parts.slots, parts.kick_fd, parts.call_fd,
        device_.socket_fd(),
        "virtio-blk-vhost-user: the back end closed the connection; requests fail with EIO"}));
  }
  std::vector<std::unique_ptr<Queue>> queues;
  for (int q = 0; q < num_queues_; ++q)
    queues.push_back(std::make_unique<virtio::BlkQueue>(*rings_[size_t(q % virtqueues)],
                                                        device_.limits(), read_only_));
  return queues;
}

}  // namespace

}  // namespace blkio

BLKIO_REGISTER_DRIVER("virtio-blk-vhost-user", blkio::VhostUserDriver);
