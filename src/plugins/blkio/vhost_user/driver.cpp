// The virtio-blk-vhost-user driver: a virtio-blk device behind a
// vhost-user back end's Unix socket (qemu-storage-daemon's vhost-user-blk
// export, for one), with libblkio's properties: `path` (the socket),
// `queue-size`, `max-queue-size`, and the common ones derived from the
// device's features and configuration.
#include <cerrno>
#include <memory>
#include <string>

#include "vhost_user/device.hpp"
#include "virtio/blk_driver.hpp"

namespace blkio {

namespace {

class VhostUserDriver final : public virtio::BlkDriver {
 public:
  VhostUserDriver() : BlkDriver("virtio-blk-vhost-user", false) {}

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
  vhost_user::Device device_;
};

void VhostUserDriver::do_connect() {
  if (path_.empty()) throw Error(EINVAL, "path must be set");
  std::string message;
  if (const int e = device_.connect(path_, message)) throw Error(-e, message);
  set_info(device_.limits(), device_.max_regions(), true);
}

std::vector<std::unique_ptr<Queue>> VhostUserDriver::do_start() {
  check_writable(device_.limits());
  std::string message;
  const int virtqueues = virtqueues_wanted(device_.limits());
  if (const int e = device_.start(virtqueues, uint16_t(queue_size_), message))
    throw Error(-e, message);
  std::vector<virtio::RingSetup> setups;
  for (int q = 0; q < virtqueues; ++q)
    setups.push_back(device_.queue(q).setup(
        device_.address_map(), device_.socket_fd(),
        "virtio-blk-vhost-user: the back end closed the connection; requests fail with EIO"));
  return make_lanes(setups, device_.limits());
}

}  // namespace

}  // namespace blkio

BLKIO_REGISTER_DRIVER("virtio-blk-vhost-user", blkio::VhostUserDriver);
