// A split virtqueue (VIRTIO 1.2 §2.7) driven from the driver side: the
// descriptor table, the available ring we fill and the used ring the device
// fills, all in memory the device can see.  The queue does no locking: one
// thread at a time (the caller holds the queue's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace blkio::virtio {

// Where the three parts of a queue of `size` entries live, relative to the
// start of its memory (the descriptor table, aligned to a page so the whole
// area can be handed over as one block).
struct RingLayout {
  size_t desc = 0, avail = 0, used = 0, total = 0;
  static RingLayout for_size(uint16_t size);
};

inline constexpr uint16_t desc_f_next = 1;
inline constexpr uint16_t desc_f_write = 2;
inline constexpr uint16_t avail_f_no_interrupt = 1;
inline constexpr uint16_t used_f_no_notify = 1;

// One buffer of a request: a device address, a length and whether the
// device writes it (device-writable buffers follow the readable ones).
struct Segment {
  uint64_t addr;
  uint32_t len;
  bool device_writes;
};

class SplitQueue {
 public:
  // `mem` holds RingLayout::for_size(size).total zeroed bytes; `size` is a
  // power of two.  With `event_idx` the used_event/avail_event fields
  // decide notifications instead of the flags.
  SplitQueue(void* mem, uint16_t size, bool event_idx);

  uint16_t size() const { return size_; }
  uint16_t free_descriptors() const { return free_count_; }
  const void* desc_area() const { return desc_; }
  const void* avail_area() const { return avail_; }
  const void* used_area() const { return used_; }

  // Writes a chain of descriptors and returns its head, or -1 when fewer
  // than segs.size() descriptors are free.  Not visible to the device
  // until publish().
  int add_chain(std::span<const Segment> segs);
  // The head the next add_chain() will use (valid while one is free).
  uint16_t next_head() const { return free_head_; }
  void publish(uint16_t head);
  // After one or more publish(): whether the device asked to be told.
  bool kick_needed();

  // Takes one completion off the used ring (freeing its descriptors):
  // false when there is none.
  bool pop_used(uint32_t& head, uint32_t& written);
  bool has_used() const;
  // Ask for (or stop asking for) a call when the device uses buffers.
  // enable returns true when completions arrived meanwhile: the caller must
  // reap them instead of sleeping.
  bool enable_calls();
  void disable_calls();
  // Requests whose completion has not been taken yet.
  uint16_t in_flight() const { return uint16_t(size_ - free_count_); }

 private:
  struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
  };
  struct UsedElem {
    uint32_t id;
    uint32_t len;
  };
  uint16_t* avail_flags() const;
  uint16_t* avail_idx() const;
  uint16_t* avail_ring() const;
  uint16_t* used_event() const;  // in the avail ring, after ring[size]
  uint16_t* used_flags() const;
  uint16_t* used_idx() const;
  UsedElem* used_ring() const;
  uint16_t* avail_event() const;  // in the used ring, after ring[size]
  void free_chain(uint16_t head);

  uint16_t size_;
  bool event_idx_;
  Desc* desc_;
  uint8_t* avail_;
  uint8_t* used_;
  uint16_t free_head_ = 0;
  uint16_t free_count_;
  uint16_t next_avail_ = 0;       // our copy of avail.idx
  uint16_t kicked_avail_ = 0;     // avail.idx when we last decided on a kick
  uint16_t last_used_ = 0;        // used entries consumed
};

}  // namespace blkio::virtio
