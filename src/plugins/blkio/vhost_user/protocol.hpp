// The vhost-user wire protocol, front-end side (QEMU's
// docs/interop/vhost-user.rst): message ids, header flags, protocol
// feature bits and payload layouts.  Native byte order throughout.
#pragma once

#include <cstdint>

namespace blkio::vhost_user {

enum class Request : uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  set_mem_table = 5,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
  get_config = 24,
};

const char* request_name(Request r);

namespace header_flag {
inline constexpr uint32_t version = 1;  // bits 0-1
inline constexpr uint32_t reply = 1u << 2;
inline constexpr uint32_t need_reply = 1u << 3;
}  // namespace header_flag

namespace protocol_feature {
inline constexpr int mq = 0;
inline constexpr int reply_ack = 3;
inline constexpr int config = 9;
}  // namespace protocol_feature

// Virtio feature bit 30 on vhost-user: the back end speaks protocol features.
inline constexpr int f_protocol_features = 30;

struct Header {
  uint32_t request;
  uint32_t flags;
  uint32_t size;
};
static_assert(sizeof(Header) == 12);

struct VringState {
  uint32_t index;
  uint32_t num;
};

struct VringAddr {
  uint32_t index;
  uint32_t flags;
  uint64_t desc;   // front-end virtual addresses
  uint64_t used;
  uint64_t avail;
  uint64_t log;
};
static_assert(sizeof(VringAddr) == 40);

inline constexpr int max_mem_regions = 8;  // also the SCM_RIGHTS fd limit per message

struct MemRegion {
  uint64_t guest_addr;
  uint64_t size;
  uint64_t user_addr;
  uint64_t mmap_offset;
};

struct MemTable {
  uint32_t nregions;
  uint32_t padding;
  MemRegion regions[max_mem_regions];
};

struct ConfigHeader {
  uint32_t offset;
  uint32_t size;
  uint32_t flags;
};

// The largest payload we exchange (the memory table).
inline constexpr uint32_t max_payload = sizeof(MemTable);

}  // namespace blkio::vhost_user
