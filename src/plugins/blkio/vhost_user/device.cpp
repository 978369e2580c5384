#include "vhost_user/device.hpp"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>


namespace blkio::vhost_user {

namespace {

using virtio::bit;

int fail(int err, std::string& message, const std::string& what) {
  message = what;
  return -err;
}

}  // namespace

SharedMemory::~SharedMemory() {
  if (addr) ::munmap(addr, len);
  if (fd != -1) ::close(fd);
}

int SharedMemory::create(size_t length, const char* name, std::string& message) {
  fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd == -1) return fail(errno, message, std::string("memfd_create: ") + std::strerror(errno));
  if (::ftruncate(fd, off_t(length)) == -1)
    return fail(errno, message, std::string("ftruncate: ") + std::strerror(errno));
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail(errno, message, std::string("mmap: ") + std::strerror(errno));
  addr = static_cast<uint8_t*>(p);
  len = length;
  return 0;
}

Device::~Device() {
  // Closing the socket first tells the back end to stop using the rings
  // before our mappings go away.
  channel_.close();
}

int Device::connect(const std::string& path, std::string& message) {
  if (const int r = channel_.connect(path, message); r) return r;
  return negotiate(message);
}

int Device::negotiate(std::string& message) {
  uint64_t offered = 0;
  if (const int r = channel_.get_u64(Request::get_features, offered, message); r) return r;
  if (!(offered & bit(virtio::feature::version_1)))
    return fail(ENOTSUP, message, "the vhost-user back end does not offer VIRTIO_F_VERSION_1");
  if (!(offered & bit(f_protocol_features)))
    return fail(ENOTSUP, message,
                "the vhost-user back end offers no protocol features (GET_CONFIG is needed)");
  uint64_t protocol = 0;
  if (const int r = channel_.get_u64(Request::get_protocol_features, protocol, message); r)
    return r;
  const uint64_t wanted_protocol = bit(protocol_feature::mq) |
                                   bit(protocol_feature::reply_ack) |
                                   bit(protocol_feature::config);
  protocol_features_ = protocol & wanted_protocol;
  if (!(protocol_features_ & bit(protocol_feature::config)))
    return fail(ENOTSUP, message, "the vhost-user back end cannot report its configuration");
  if (const int r = channel_.set_u64(Request::set_protocol_features, protocol_features_, message);
      r)
    return r;
  channel_.set_reply_ack((protocol_features_ & bit(protocol_feature::reply_ack)) != 0);
  if (const int r = channel_.send(Request::set_owner, {}, {}, message); r) return r;
  if (const int r = read_config(message); r) return r;
  features_ = (offered & virtio::wanted_features) | bit(f_protocol_features);
  if (const int r = channel_.set_u64(Request::set_features, features_, message); r) return r;
  limits_ = virtio::derive_limits(config_, features_);
  return 0;
}

int Device::read_config(std::string& message) {
  // Ask for exactly the 60 bytes every back end knows (see blk.hpp).
  std::vector<uint8_t> request(sizeof(ConfigHeader) + virtio::config_size);
  const ConfigHeader h{0, virtio::config_size, 0};
  std::memcpy(request.data(), &h, sizeof h);
  std::vector<uint8_t> reply;
  if (const int r = channel_.call(Request::get_config, request, reply, message); r) return r;
  if (reply.size() != request.size())
    return fail(EIO, message, "the vhost-user back end refused GET_CONFIG");
  config_ = virtio::parse_config(std::span(reply).subspan(sizeof h));
  return 0;
}

int Device::send_mem_table(std::string& message) {
  MemTable table{};
  std::vector<int> fds;
  const auto add = [&](void* addr, size_t len, int fd, uint64_t offset) {
    MemRegion& m = table.regions[table.nregions++];
    m.guest_addr = m.user_addr = reinterpret_cast<uintptr_t>(addr);
    m.size = len;
    m.mmap_offset = offset;
    fds.push_back(fd);
  };
  if (rings_.addr) add(rings_.addr, rings_.len, rings_.fd, 0);
  for (const BufferRegion& r : regions_) add(r.addr, r.len, r.fd, r.fd_offset);
  if (table.nregions == 0) return 0;
  const size_t bytes = offsetof(MemTable, regions) + table.nregions * sizeof(MemRegion);
  return channel_.send(Request::set_mem_table,
                       std::span(reinterpret_cast<const uint8_t*>(&table), bytes), fds, message);
}

int Device::map_region(const BufferRegion& r, std::string& message) {
  if (regions_.size() >= max_regions())
    return fail(ENOSPC, message, "too many memory regions for vhost-user");
  if (r.fd < 0) return fail(EINVAL, message, "vhost-user memory regions must be fd-backed");
  regions_.push_back(r);
  if (started_) {
    if (const int e = send_mem_table(message); e) {
      regions_.pop_back();
      return e;
    }
  }
  map_.add({static_cast<const uint8_t*>(r.addr), r.len, reinterpret_cast<uintptr_t>(r.addr)});
  return 0;
}

int Device::unmap_region(void* addr, std::string& message) {
  const auto it = std::find_if(regions_.begin(), regions_.end(),
                               [addr](const BufferRegion& r) { return r.addr == addr; });
  if (it == regions_.end()) return fail(EINVAL, message, "no such memory region");
  map_.remove(addr);
  regions_.erase(it);
  // The back end may be gone (this runs at shutdown too): the region is
  // ours to free either way, so a failure to tell it is not an error.
  if (started_) {
    std::string ignored;
    send_mem_table(ignored);
  }
  return 0;
}

int Device::setup_queue(uint32_t index, uint16_t size, uint8_t* mem, std::string& message) {
  auto q = std::make_unique<QueueParts>();
  const bool event_idx = features_ & bit(virtio::feature::event_idx);
  q->ring = std::make_unique<virtio::SplitQueue>(mem, size, event_idx);
  q->kick_fd = ::eventfd(0, EFD_CLOEXEC);
  q->call_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (q->kick_fd == -1 || q->call_fd == -1)
    return fail(errno, message, std::string("eventfd: ") + std::strerror(errno));
  const auto addr = [](const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); };
  const VringState num{index, size}, base{index, 0}, enable{index, 1};
  const VringAddr vring{index, 0, addr(q->ring->desc_area()), addr(q->ring->used_area()),
                        addr(q->ring->avail_area()), 0};
  int r;
  if ((r = channel_.send(Request::set_vring_num, bytes_of(num), {}, message)) ||
      (r = channel_.send(Request::set_vring_base, bytes_of(base), {}, message)) ||
      (r = channel_.send(Request::set_vring_addr, bytes_of(vring), {}, message)) ||
      (r = channel_.set_u64(Request::set_vring_kick, index, message, std::span(&q->kick_fd, 1))) ||
      (r = channel_.set_u64(Request::set_vring_call, index, message, std::span(&q->call_fd, 1))) ||
      (r = channel_.send(Request::set_vring_enable, bytes_of(enable), {}, message)))
    return r;
  q->slots = mem + virtio::queue_slots_at(size);
  queues_.push_back(std::move(q));
  return 0;
}

int Device::start(int num_queues, uint16_t queue_size, std::string& message) {
  const size_t per_queue = virtio::queue_area_bytes(queue_size);
  if (const int r = rings_.create(per_queue * size_t(num_queues), "vhost-user-rings", message); r)
    return r;
  map_.add({rings_.addr, rings_.len, reinterpret_cast<uintptr_t>(rings_.addr)});
  if (const int r = send_mem_table(message); r) return r;
  for (int i = 0; i < num_queues; ++i) {
    if (const int r = setup_queue(uint32_t(i), queue_size, rings_.addr + per_queue * size_t(i),
                                  message);
        r)
      return r;
  }
  started_ = true;
  return 0;
}

}  // namespace blkio::vhost_user
