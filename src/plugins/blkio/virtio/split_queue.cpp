#include "split_queue.hpp"

#include <atomic>

namespace blkio::virtio {

namespace {

constexpr size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// The rings are shared with another process: every index the other side
// reads or writes goes through an atomic view of the ring word.
uint16_t load_acquire(uint16_t* p) {
  return std::atomic_ref<uint16_t>(*p).load(std::memory_order_acquire);
}
void store_release(uint16_t* p, uint16_t v) {
  std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_release);
}

// virtio's vring_need_event: did the index cross `event` while moving from
// old to new?
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return uint16_t(new_idx - event - 1) < uint16_t(new_idx - old_idx);
}

}  // namespace

RingLayout RingLayout::for_size(uint16_t size) {
  RingLayout l;
  l.desc = 0;
  l.avail = l.desc + 16 * size_t{size};
  l.used = align_up(l.avail + 6 + 2 * size_t{size}, 4);
  l.total = align_up(l.used + 6 + 8 * size_t{size}, 4096);
  return l;
}

SplitQueue::SplitQueue(void* mem, uint16_t size, bool event_idx)
    : size_(size), event_idx_(event_idx), free_count_(size) {
  const RingLayout l = RingLayout::for_size(size);
  auto* base = static_cast<uint8_t*>(mem);
  desc_ = reinterpret_cast<Desc*>(base + l.desc);
  avail_ = base + l.avail;
  used_ = base + l.used;
  for (uint16_t i = 0; i < size; ++i) desc_[i].next = uint16_t(i + 1);
}

uint16_t* SplitQueue::avail_flags() const { return reinterpret_cast<uint16_t*>(avail_); }
uint16_t* SplitQueue::avail_idx() const { return reinterpret_cast<uint16_t*>(avail_ + 2); }
uint16_t* SplitQueue::avail_ring() const { return reinterpret_cast<uint16_t*>(avail_ + 4); }
uint16_t* SplitQueue::used_event() const { return avail_ring() + size_; }
uint16_t* SplitQueue::used_flags() const { return reinterpret_cast<uint16_t*>(used_); }
uint16_t* SplitQueue::used_idx() const { return reinterpret_cast<uint16_t*>(used_ + 2); }
SplitQueue::UsedElem* SplitQueue::used_ring() const {
  return reinterpret_cast<UsedElem*>(used_ + 4);
}
uint16_t* SplitQueue::avail_event() const {
  return reinterpret_cast<uint16_t*>(used_ring() + size_);
}

int SplitQueue::add_chain(std::span<const Segment> segs) {
  if (segs.empty() || segs.size() > free_count_) return -1;
  const uint16_t head = free_head_;
  uint16_t i = head;
  for (size_t n = 0; n < segs.size(); ++n) {
    Desc& d = desc_[i];
    d.addr = segs[n].addr;
    d.len = segs[n].len;
    const bool last = n + 1 == segs.size();
    d.flags = uint16_t((segs[n].device_writes ? desc_f_write : 0) | (last ? 0 : desc_f_next));
    if (!last) i = d.next;  // the free list is linked through `next` already
  }
  free_head_ = desc_[i].next;
  free_count_ = uint16_t(free_count_ - segs.size());
  return head;
}

void SplitQueue::publish(uint16_t head) {
  avail_ring()[next_avail_ & (size_ - 1)] = head;
  ++next_avail_;
  // The ring entry and the descriptors must be visible before the index.
  store_release(avail_idx(), next_avail_);
}

bool SplitQueue::kick_needed() {
  // The index store must be visible before we read the device's wish.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_idx = kicked_avail_;
  kicked_avail_ = next_avail_;
  if (old_idx == next_avail_) return false;
  if (event_idx_) return need_event(load_acquire(avail_event()), next_avail_, old_idx);
  return (load_acquire(used_flags()) & used_f_no_notify) == 0;
}

bool SplitQueue::has_used() const { return load_acquire(used_idx()) != last_used_; }

bool SplitQueue::pop_used(uint32_t& head, uint32_t& written) {
  if (!has_used()) return false;  // the acquire orders the entry's read after it
  const UsedElem& e = used_ring()[last_used_ & (size_ - 1)];
  head = e.id;
  written = e.len;
  ++last_used_;
  if (head < size_) free_chain(uint16_t(head));
  return true;
}

void SplitQueue::free_chain(uint16_t head) {
  uint16_t i = head;
  uint16_t n = 1;
  while (desc_[i].flags & desc_f_next) {
    i = desc_[i].next;
    ++n;
  }
  desc_[i].next = free_head_;
  free_head_ = head;
  free_count_ = uint16_t(free_count_ + n);
}

bool SplitQueue::enable_calls() {
  if (event_idx_)
    store_release(used_event(), last_used_);
  else
    store_release(avail_flags(), 0);
  // Publish the wish before looking again, or a completion written in
  // between would neither be seen nor signalled.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return has_used();
}

void SplitQueue::disable_calls() {
  // With event_idx the device only calls when used idx passes used_event,
  // which we stop advancing; the flag is the hint for devices without it.
  if (!event_idx_) store_release(avail_flags(), avail_f_no_interrupt);
}

}  // namespace blkio::virtio
