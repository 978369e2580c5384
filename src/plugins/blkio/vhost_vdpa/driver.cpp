// The virtio-blk-vhost-vdpa driver: a virtio-blk vDPA device through the
// kernel's vhost-vdpa character device (libblkio's driver of the same
// name).  `path` is /dev/vhost-vdpa-N; alternatively `fd` is an open
// descriptor of one, owned by the driver once connect succeeds.
#include <cerrno>
#include <memory>
#include <string>

#include "vhost_vdpa/device.hpp"
#include "virtio/blk_driver.hpp"

namespace blkio {

namespace {

constexpr uint64_t max_regions = 1024;

class VhostVdpaDriver final : public virtio::BlkDriver {
 public:
  VhostVdpaDriver() : BlkDriver("virtio-blk-vhost-vdpa", true) {
    table().add_variable<int32_t>("fd", fd_, always, in_created);
  }

  void map_mem_region(const MemRegion& r) override { device_.map_region(r.addr, r.len); }
  void unmap_mem_region(const MemRegion& r) override { device_.unmap_region(r.addr); }

 protected:
  void do_connect() override {
    if (!path_.empty() && fd_ != -1) throw Error(EINVAL, "path and fd cannot be set at the same time");
    if (path_.empty() && fd_ == -1) throw Error(EINVAL, "One of path and fd must be set");
    device_.connect(path_, fd_);
    set_info(device_.limits(), max_regions, true);
  }

  std::vector<std::unique_ptr<Queue>> do_start() override { return start_pinned(device_); }

 private:
  int32_t fd_ = -1;
  vhost_vdpa::VdpaDevice device_;
};

}  // namespace

}  // namespace blkio

BLKIO_REGISTER_DRIVER("virtio-blk-vhost-vdpa", blkio::VhostVdpaDriver);
