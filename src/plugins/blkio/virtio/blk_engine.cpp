#include "blk_engine.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace blkio::virtio {

BlkEngine::BlkEngine(SplitQueue& queue, const AddressMap& map, uint8_t* slots)
    : queue_(queue), map_(map), slots_(slots), tags_(queue.size()) {
  const auto addr = map.translate(slots, size_t{queue.size()} * slot_bytes);
  if (!addr) throw std::invalid_argument("request slots are not in device-visible memory");
  slots_device_addr_ = *addr;
}

// Fills the header and the descriptor list of request `r` whose chain will
// start at descriptor `head`.
int BlkEngine::build(const Request& r, uint16_t head, std::vector<Segment>& segs) {
  ReqHeader h{};
  h.sector = r.offset / sector_size;
  if (r.offset % sector_size) return -EINVAL;
  segs.clear();
  segs.push_back({slot_addr(head, header_at), sizeof h, false});
  switch (r.op) {
    case Op::read:
    case Op::write:
    case Op::get_id: {
      h.type = uint32_t(r.op == Op::read ? ReqType::in
                        : r.op == Op::write ? ReqType::out : ReqType::get_id);
      if (r.op == Op::get_id) h.sector = 0;
      for (const iovec& v : r.iov) {
        if (v.iov_len == 0) continue;
        if (v.iov_len > 0xffffffffu) return -EINVAL;
        const auto a = map_.translate(v.iov_base, v.iov_len);
        if (!a) return -EFAULT;
        segs.push_back({*a, uint32_t(v.iov_len), r.op != Op::write});
      }
      break;
    }
    case Op::flush:
      h.type = uint32_t(ReqType::flush);
      h.sector = 0;
      break;
    case Op::write_zeroes:
    case Op::discard: {
      const uint64_t sectors = r.len / sector_size;
      if (r.len % sector_size || sectors == 0 || sectors > 0xffffffffu) return -EINVAL;
      h.type = uint32_t(r.op == Op::discard ? ReqType::discard : ReqType::write_zeroes);
      RangeSegment seg{h.sector, uint32_t(sectors),
                       r.op == Op::write_zeroes && r.unmap ? segment_flag_unmap : 0};
      h.sector = 0;  // the range travels in the segment
      std::memcpy(slot(head) + segment_at, &seg, sizeof seg);
      segs.push_back({slot_addr(head, segment_at), sizeof seg, false});
      break;
    }
  }
  std::memcpy(slot(head) + header_at, &h, sizeof h);
  slot(head)[status_at] = 0xff;  // a device that writes nothing reads as an error
  segs.push_back({slot_addr(head, status_at), 1, true});
  return 0;
}

int BlkEngine::submit(const Request& r) {
  if (queue_.free_descriptors() == 0) return -EAGAIN;
  // Building into the next head's slot is harmless if the chain then does
  // not fit: nothing refers to that slot until a chain starts there.
  const uint16_t head = queue_.next_head();
  if (const int err = build(r, head, segs_); err) return err;
  if (segs_.size() > queue_.size()) return -EINVAL;
  if (queue_.add_chain(segs_) < 0) return -EAGAIN;
  tags_[head] = r.tag;
  queue_.publish(head);
  return 0;
}

bool BlkEngine::reap(Completion& c) {
  uint32_t head, written;
  while (queue_.pop_used(head, written)) {
    if (head >= queue_.size()) continue;  // a broken device; nothing to give back
    c.tag = tags_[head];
    // The status byte is the last thing the device writes.
    (void)written;  // devices disagree on what it counts; the status byte decides
    c.ret = status_to_errno(slot(uint16_t(head))[status_at]);
    return true;
  }
  return false;
}

}  // namespace blkio::virtio
