// A virtio-blk device reached over vhost-user (qemu-storage-daemon's
// vhost-user-blk export, for one): connection and feature negotiation,
// configuration, the memory table, and started queues.  The front end's
// virtual addresses double as "guest" addresses, so a buffer's device
// address is its own address.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vhost_user/channel.hpp"
#include "virtio/address_map.hpp"
#include "virtio/blk.hpp"
#include "virtio/queue_parts.hpp"
#include "virtio/split_queue.hpp"

namespace blkio::vhost_user {

// Shared memory the back end can map: a memfd and our mapping of it.
struct SharedMemory {
  SharedMemory() = default;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();
  // 0 or a negative errno.
  int create(size_t len, const char* name, std::string& message);
  uint8_t* addr = nullptr;
  size_t len = 0;
  int fd = -1;
};

// A region of the caller's (fd-backed) memory for I/O buffers.
struct BufferRegion {
  void* addr;
  size_t len;
  int fd;
  uint64_t fd_offset;
};

using virtio::QueueParts;

class Device {
 public:
  Device() = default;
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Each returns 0 or a negative errno with `message` set.
  // Connects and negotiates; the configuration is known afterwards.
  int connect(const std::string& path, std::string& message);
  const virtio::Limits& limits() const { return limits_; }
  uint64_t features() const { return features_; }

  // Registers memory for I/O buffers (before or after start; after start
  // only while no request is in flight, as the table is sent again).
  int map_region(const BufferRegion& r, std::string& message);
  int unmap_region(void* addr, std::string& message);
  size_t max_regions() const { return max_mem_regions - 1; }  // one holds the rings

  // Sets up and enables `num_queues` queues of `queue_size` entries.
  int start(int num_queues, uint16_t queue_size, std::string& message);
  int num_queues() const { return int(queues_.size()); }
  QueueParts& queue(int i) { return *queues_[size_t(i)]; }
  const virtio::AddressMap& address_map() const { return map_; }
  // Hangs up when the back end goes away.
  int socket_fd() const { return channel_.fd(); }

 private:
  int negotiate(std::string& message);
  int read_config(std::string& message);
  int send_mem_table(std::string& message);
  int setup_queue(uint32_t index, uint16_t size, uint8_t* mem, std::string& message);

  Channel channel_;
  uint64_t features_ = 0;
  uint64_t protocol_features_ = 0;
  virtio::Config config_;
  virtio::Limits limits_;
  SharedMemory rings_;
  std::vector<BufferRegion> regions_;
  virtio::AddressMap map_;
  std::vector<std::unique_ptr<QueueParts>> queues_;
  bool started_ = false;
};

}  // namespace blkio::vhost_user
