// The device's half of a split virtqueue, written from the spec for the
// unit tests: reads what the driver made available and marks it used.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "virtio/split_queue.hpp"

struct DeviceDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

class DeviceSide {
 public:
  DeviceSide(uint8_t* mem, uint16_t size)
      : mem_(mem), size_(size), layout_(blkio::virtio::RingLayout::for_size(size)) {}

  uint16_t avail_idx() const { return u16(layout_.avail + 2); }
  uint16_t avail_flags() const { return u16(layout_.avail); }
  uint16_t used_event() const { return u16(layout_.avail + 4 + 2 * size_t{size_}); }
  void set_used_flags(uint16_t v) { put16(layout_.used, v); }
  void set_avail_event(uint16_t v) { put16(layout_.used + 4 + 8 * size_t{size_}, v); }

  // The next available chain, or an empty one when none is pending.
  std::vector<DeviceDesc> next_chain(uint16_t& head) {
    std::vector<DeviceDesc> chain;
    if (seen_ == avail_idx()) return chain;
    head = u16(layout_.avail + 4 + 2 * size_t(seen_ % size_));
    ++seen_;
    uint16_t i = head;
    for (;;) {
      DeviceDesc d;
      std::memcpy(&d, mem_ + layout_.desc + 16 * size_t{i}, sizeof d);
      chain.push_back(d);
      if (!(d.flags & blkio::virtio::desc_f_next)) break;
      i = d.next;
    }
    return chain;
  }

  void complete(uint16_t head, uint32_t written) {
    const size_t e = layout_.used + 4 + 8 * size_t(used_ % size_);
    uint32_t id = head;
    std::memcpy(mem_ + e, &id, 4);
    std::memcpy(mem_ + e + 4, &written, 4);
    ++used_;
    put16(layout_.used + 2, used_);
  }

 private:
  uint16_t u16(size_t at) const {
    uint16_t v;
    std::memcpy(&v, mem_ + at, 2);
    return v;
  }
  void put16(size_t at, uint16_t v) { std::memcpy(mem_ + at, &v, 2); }

  uint8_t* mem_;
  uint16_t size_;
  blkio::virtio::RingLayout layout_;
  uint16_t seen_ = 0, used_ = 0;
};
