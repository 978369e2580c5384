// The nvme-io_uring driver: an NVMe namespace through its generic
// character device (/dev/ngXnY, Linux 5.19 or later), with NVMe commands
// passed through io_uring.  libblkio's properties: `path` or `fd`,
// `num-entries`, and the common ones from Identify Namespace and
// Identify Controller.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../driver.hpp"
#include "../io_uring/ring_driver.hpp"
#include "../open_target.hpp"
#include "../sysfs.hpp"
#include "nvme_command.hpp"
#include "nvme_identify.hpp"
#include "nvme_queue.hpp"

namespace blkio {
namespace {

class NvmeDriver final : public RingDriver {
 public:
  NvmeDriver() : RingDriver("nvme-io_uring") {}

 protected:
  void do_connect() override;
  std::unique_ptr<Queue> make_queue(unsigned entries) override {
    target_.read_only = read_only_;
    return std::make_unique<NvmeQueue>(target_, entries);
  }

 private:
  // What errors call the device: its path, or "fd N".
  std::string device_name() const { return path_.empty() ? "fd " + std::to_string(fd_) : path_; }
  void check_device(int fd);
  void identify(int fd, uint8_t cns, uint32_t nsid, uint8_t* buf, const char* what);
  uint64_t kernel_limit(dev_t rdev) const;
  void fill_info(const nvme::NamespaceGeometry& ns, const nvme::ControllerFeatures& ctrl,
                 uint64_t kernel_limit);

  NvmeTarget target_;
};

// A character device that answers NVME_IOCTL_ID is an NVMe namespace;
// anything else gets an error naming it.
void NvmeDriver::check_device(int fd) {
  struct stat st;
  if (::fstat(fd, &st) == -1)
    throw Error(errno, device_name() + ": fstat: " + std::strerror(errno));
  if (!S_ISCHR(st.st_mode))
    throw Error(EINVAL, device_name() +
                            ": not a character device (nvme-io_uring needs an NVMe namespace's "
                            "generic character device, such as /dev/ng0n1)");
  const int nsid = ::ioctl(fd, NVME_IOCTL_ID);
  if (nsid <= 0) {
    const int err = nsid < 0 ? errno : ENOTTY;
    throw Error(err, device_name() + ": not an NVMe generic character device (NVME_IOCTL_ID: " +
                         std::strerror(err) + ")");
  }
  target_.nsid = uint32_t(nsid);
}

void NvmeDriver::identify(int fd, uint8_t cns, uint32_t nsid, uint8_t* buf, const char* what) {
  const nvme_uring_cmd cmd = nvme::identify(nsid, cns, buf);
  nvme_admin_cmd admin{};
  admin.opcode = cmd.opcode;
  admin.nsid = cmd.nsid;
  admin.addr = cmd.addr;
  admin.data_len = cmd.data_len;
  admin.cdw10 = cmd.cdw10;
  const int r = ::ioctl(fd, NVME_IOCTL_ADMIN_CMD, &admin);
  if (r == 0) return;
  const int err = r < 0 ? errno : -nvme::status_to_errno(r);
  std::string detail = r < 0 ? std::strerror(err) : "NVMe status " + std::to_string(r);
  throw Error(err, device_name() + ": " + what + " failed: " + detail);
}

// The block queue limits of the namespace's block device, which also
// bound passthrough commands; 0 when sysfs does not tell.
uint64_t NvmeDriver::kernel_limit(dev_t rdev) const {
  const std::string char_dir =
      "/sys/dev/char/" + std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev));
  // The entry is a link to the device's directory, named like the node
  // (ng0n1).
  char target[4096];
  const ssize_t n = ::readlink(char_dir.c_str(), target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  const char* slash = std::strrchr(target, '/');
  const std::string block = nvme::block_device_name(slash ? slash + 1 : target);
  if (block.empty()) return 0;
  const std::string queue = "/sys/block/" + block + "/queue";
  return nvme::kernel_transfer_limit(read_sysfs_number(queue, "max_hw_sectors_kb").value_or(0),
                                     read_sysfs_number(queue, "max_segments").value_or(0),
                                     uint64_t(::sysconf(_SC_PAGESIZE)));
}

void NvmeDriver::fill_info(const nvme::NamespaceGeometry& ns,
                           const nvme::ControllerFeatures& ctrl, uint64_t kernel_limit) {
  const int32_t lba = int32_t(ns.lba_size());
  DeviceInfo& i = info_;
  i.capacity = ns.capacity();
  i.max_queues = INT32_MAX;
  i.can_add_queues = false;
  i.request_alignment = i.optimal_io_alignment = i.buf_alignment = lba;
  i.mem_region_alignment = uint64_t(lba);
  i.discard_alignment = lba;
  i.optimal_buf_alignment = int32_t(::sysconf(_SC_PAGESIZE));
  i.max_transfer = int32_t(nvme::max_transfer(ctrl.mdts, ns.lba_shift, kernel_limit));
  i.max_segments = 1;  // one buffer per command (no NVME_URING_CMD_IO_VEC)
  i.max_write_zeroes_len = nvme::kMaxBlocksPerCommand << ns.lba_shift;
  i.max_discard_len = nvme::kMaxBlocksPerRange << ns.lba_shift;
  i.supports_fua_natively = true;
  i.flush_needed = ctrl.volatile_write_cache;
  i.supports_flush = ctrl.volatile_write_cache;
  i.supports_write_zeroes = ctrl.write_zeroes;
  i.supports_discard = ctrl.dataset_management;

  target_.lba_shift = ns.lba_shift;
  target_.alignment = target_.buf_alignment = uint32_t(lba);
  target_.max_transfer = uint64_t(i.max_transfer);
  target_.write_zeroes = ctrl.write_zeroes;
  target_.deallocate = ctrl.dataset_management;
  target_.flush = ctrl.volatile_write_cache;
}

void NvmeDriver::do_connect() {
  const int fd = open_path_or_fd(path_, fd_, 0, read_only_).fd;
  try {
    check_device(fd);
    alignas(4096) uint8_t data[nvme::kIdentifySize];
    identify(fd, 0, target_.nsid, data, "Identify Namespace");
    nvme::NamespaceGeometry ns;
    try {
      ns = nvme::parse_identify_namespace(nvme::IdentifyData(data));
    } catch (const Error& e) {
      throw Error(e.err(), device_name() + ": " + e.what());
    }
    identify(fd, 1, 0, data, "Identify Controller");
    const nvme::ControllerFeatures ctrl =
        nvme::parse_identify_controller(nvme::IdentifyData(data));
    struct stat st;
    fill_info(ns, ctrl, ::fstat(fd, &st) == 0 ? kernel_limit(st.st_rdev) : 0);
  } catch (...) {
    if (fd != fd_) ::close(fd);
    throw;
  }
  own(fd);
  target_.fd = fd;
}

}  // namespace

BLKIO_REGISTER_DRIVER("nvme-io_uring", NvmeDriver);

}  // namespace blkio
