#include "vhost_vdpa/device.hpp"

#include <fcntl.h>
// <linux/virtio_ring.h> (via <linux/vhost.h>) has legacy helpers that are not
// valid C++; we need none of them.
#define VIRTIO_RING_NO_LEGACY
#include <linux/vhost.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "properties.hpp"
#include "vhost_vdpa/iotlb.hpp"

namespace blkio::vhost_vdpa {

namespace {

const std::string who = "virtio-blk-vhost-vdpa";

[[noreturn]] void fail_errno(const std::string& what) {
  const int err = errno;
  throw Error(err, who + ": " + what + ": " + std::strerror(err));
}

}  // namespace

VdpaDevice::~VdpaDevice() {
  if (fd_ == -1) return;
  // Stop the device before the rings go away; closing also tears down the
  // IOTLB.
  const uint8_t reset = 0;
  ::ioctl(fd_, VHOST_VDPA_SET_STATUS, &reset);
  ::close(fd_);
}

void VdpaDevice::open_node(const std::string& path, int fd) {
  if (path.empty()) {
    fd_ = fd;  // ours from a successful connect on, as libblkio's fd property
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == -1) {
    const int err = errno;
    throw Error(err, path + ": " + std::strerror(err) +
                         " (vhost-vdpa needs a vDPA device bound to the vhost_vdpa driver)");
  }
  if (!S_ISCHR(st.st_mode))
    throw Error(ENOTSUP, path + " is not a character device (expected /dev/vhost-vdpa-N)");
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ == -1) {
    const int err = errno;
    throw Error(err, path + ": " + std::strerror(err));
  }
}

void VdpaDevice::setup_backend() {
  if (::ioctl(fd_, VHOST_SET_OWNER) == -1) fail_errno("VHOST_SET_OWNER");
  uint32_t id = 0;
  if (::ioctl(fd_, VHOST_VDPA_GET_DEVICE_ID, &id) == -1) fail_errno("VHOST_VDPA_GET_DEVICE_ID");
  if (id != virtio_id_block)
    throw Error(ENOTSUP, who + ": the vDPA device is not a block device (virtio id " +
                             std::to_string(id) + ")");
  uint64_t backend = 0;
  if (::ioctl(fd_, VHOST_GET_BACKEND_FEATURES, &backend) == -1)
    fail_errno("VHOST_GET_BACKEND_FEATURES");
  if (!(backend & virtio::bit(backend_feature::iotlb_msg_v2)))
    throw Error(ENOTSUP, who + ": the device does not take IOTLB v2 messages");
  backend = virtio::bit(backend_feature::iotlb_msg_v2);
  if (::ioctl(fd_, VHOST_SET_BACKEND_FEATURES, &backend) == -1)
    fail_errno("VHOST_SET_BACKEND_FEATURES");
  // Devices report which IOVAs they can use; older kernels cannot say.
  vhost_vdpa_iova_range range{};
  if (::ioctl(fd_, VHOST_VDPA_GET_IOVA_RANGE, &range) == 0 && range.last > range.first)
    memory_.set_range(std::max<uint64_t>(range.first, 4096), range.last);
}

void VdpaDevice::connect(const std::string& path, int fd) {
  open_node(path, fd);
  setup_backend();
  negotiate_and_configure();
}

uint8_t VdpaDevice::get_status() {
  uint8_t status = 0;
  if (::ioctl(fd_, VHOST_VDPA_GET_STATUS, &status) == -1) fail_errno("VHOST_VDPA_GET_STATUS");
  return status;
}

void VdpaDevice::set_status(uint8_t status) {
  if (::ioctl(fd_, VHOST_VDPA_SET_STATUS, &status) == -1) fail_errno("VHOST_VDPA_SET_STATUS");
}

uint64_t VdpaDevice::device_features() {
  uint64_t features = 0;
  if (::ioctl(fd_, VHOST_GET_FEATURES, &features) == -1) fail_errno("VHOST_GET_FEATURES");
  return features;
}

void VdpaDevice::set_driver_features(uint64_t features) {
  if (::ioctl(fd_, VHOST_SET_FEATURES, &features) == -1) fail_errno("VHOST_SET_FEATURES");
}

void VdpaDevice::read_config(std::span<uint8_t> out) {
  // struct vhost_vdpa_config: le32 off, le32 len, then the bytes.
  std::vector<uint8_t> buf(sizeof(vhost_vdpa_config) + out.size());
  const vhost_vdpa_config header{0, uint32_t(out.size())};
  std::memcpy(buf.data(), &header, sizeof header);
  if (::ioctl(fd_, VHOST_VDPA_GET_CONFIG, buf.data()) == -1) fail_errno("VHOST_VDPA_GET_CONFIG");
  std::memcpy(out.data(), buf.data() + sizeof header, out.size());
}

void VdpaDevice::write_iotlb(const uint8_t* msg, size_t len) {
  if (::write(fd_, msg, len) != ssize_t(len)) fail_errno("IOTLB message");
}

void VdpaDevice::map_iova(const void* addr, size_t len, uint64_t iova) {
  const auto m = encode_iotlb(IotlbOp::update,
                              {iova, len, reinterpret_cast<uintptr_t>(addr), access::read_write});
  write_iotlb(m.data(), m.size());
}

void VdpaDevice::unmap_iova(uint64_t iova, size_t len) {
  const auto m = encode_iotlb(IotlbOp::invalidate, {iova, len, 0, 0});
  write_iotlb(m.data(), m.size());
}

void VdpaDevice::setup_queue(uint32_t index, uint16_t size) {
  virtio::QueueParts& q = add_queue(int(index), size);
  q.kick_fd = ::eventfd(0, EFD_CLOEXEC);
  q.call_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (q.kick_fd == -1 || q.call_fd == -1) fail_errno("eventfd");
  // Ring addresses are IOVAs: the device sees our memory only through the
  // IOTLB.
  const vhost_vring_state num{index, size}, base{index, 0}, enable{index, 1};
  vhost_vring_addr addr{};
  addr.index = index;
  addr.desc_user_addr = memory_.device_addr(q.ring->desc_area());
  addr.avail_user_addr = memory_.device_addr(q.ring->avail_area());
  addr.used_user_addr = memory_.device_addr(q.ring->used_area());
  const vhost_vring_file kick{index, q.kick_fd}, call{index, q.call_fd};
  if (::ioctl(fd_, VHOST_SET_VRING_NUM, &num) == -1) fail_errno("VHOST_SET_VRING_NUM");
  if (::ioctl(fd_, VHOST_SET_VRING_BASE, &base) == -1) fail_errno("VHOST_SET_VRING_BASE");
  if (::ioctl(fd_, VHOST_SET_VRING_ADDR, &addr) == -1) fail_errno("VHOST_SET_VRING_ADDR");
  if (::ioctl(fd_, VHOST_SET_VRING_KICK, &kick) == -1) fail_errno("VHOST_SET_VRING_KICK");
  if (::ioctl(fd_, VHOST_SET_VRING_CALL, &call) == -1) fail_errno("VHOST_SET_VRING_CALL");
  if (::ioctl(fd_, VHOST_VDPA_SET_VRING_ENABLE, &enable) == -1)
    fail_errno("VHOST_VDPA_SET_VRING_ENABLE");
}

void VdpaDevice::start(int num_queues, uint16_t queue_size) {
  uint16_t max = 0;
  if (::ioctl(fd_, VHOST_VDPA_GET_VRING_NUM, &max) == -1) fail_errno("VHOST_VDPA_GET_VRING_NUM");
  const uint16_t size = virtio::floor_power_of_two(std::min(queue_size, max));
  if (size == 0) throw Error(EIO, who + ": the device reports no queue size");
  allocate_rings(num_queues, size);
  for (int i = 0; i < num_queues; ++i) setup_queue(uint32_t(i), size);
  virtio::set_driver_ok(*this, who);
}

}  // namespace blkio::vhost_vdpa
