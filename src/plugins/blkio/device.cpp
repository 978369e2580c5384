#include "device.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nbdkit/services.hpp>

namespace blkio {

namespace {

// Bounce buffers: per queue, for drivers that only reach memory regions
// (a 32 MiB NBD request takes two trips), and for misaligned client
// buffers with O_DIRECT (rare: the server's buffers are page-aligned
// for large requests).
constexpr size_t kRegionBounceSize = 16u << 20;
constexpr size_t kAlignedBounceSize = 1u << 20;

// Adds what failed to the driver's message, keeping its errno.
[[noreturn]] void rethrow(const std::string& what, const Error& e) {
  throw Error(e.err(), what + ": " + e.what());
}

// Waits for the one request queued on `queue`; 0 or a positive errno.
int wait_one(Queue& queue) {
  Completion c;
  for (;;) {
    const int r = queue.do_io(&c, 1, 1, nullptr);
    if (r == 1) {
      if (c.ret < 0 && c.error_msg) nbdkit::debug("blkio: %s", c.error_msg);
      return c.ret < 0 ? -c.ret : 0;
    }
    if (r != -EINTR) return r < 0 ? -r : EIO;
  }
}

}  // namespace

// A queue held for the length of one NBD request.
class Device::Lease {
 public:
  explicit Lease(Device& device) : device_(device), slot_(device.acquire()) {}
  ~Lease() { device_.release(slot_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Slot& slot() { return *slot_; }

 private:
  Device& device_;
  Slot* slot_;
};

Device::Device(const DeviceSettings& settings, bool readonly) {
  try {
    driver_ = create_driver(settings.driver);
  } catch (const Error& e) {
    rethrow("blkio_create: error opening driver", e);
  }
  if (readonly) driver_->set_value("read-only", Value{true});
  set_properties(settings, true);
  try {
    driver_->connect();
  } catch (const Error& e) {
    rethrow("blkio_connect: failed to connect to device", e);
  }
  // libblkio starts one queue; we want enough for parallel requests.
  const bool queues_given =
      std::any_of(settings.properties.begin(), settings.properties.end(),
                  [](const auto& kv) { return kv.first == "num-queues"; });
  if (!queues_given)
    driver_->set_value("num-queues", Value{std::min(kDefaultQueues, driver_->info().max_queues)});
  set_properties(settings, false);
  try {
    driver_->start();
  } catch (const Error& e) {
    rethrow("blkio_start: failed to start device", e);
  }
  make_slots();
  print_gets(settings.gets);
}

Device::~Device() {
  for (char* p : allocated_bounces_) std::free(p);
  if (bounce_region_) {
    driver_->unmap_mem_region(*bounce_region_);
    driver_->free_mem_region(*bounce_region_);
  }
}

// Each property goes in the first state that accepts it: created-state
// ones (path, fd, direct, ...) before connect, the rest after.  An unknown
// or read-only name fails in the first pass, with libblkio's error.
void Device::set_properties(const DeviceSettings& settings, bool before_connect) {
  for (const auto& [key, value] : settings.properties) {
    const Property* property = driver_->properties().find(key);
    const bool created_state = !property || property->writable == never ||
                               includes(property->writable, State::created);
    if (created_state != before_connect) continue;
    try {
      driver_->set(key, value);
    } catch (const Error& e) {
      rethrow("error setting property: " + key + "=" + value, e);
    }
  }
}

void Device::print_gets(const std::vector<std::string>& gets) const {
  for (const auto& name : gets) {
    try {
      nbdkit::debug("get %s = %s", name.c_str(), driver_->get(name).c_str());
    } catch (const Error& e) {
      nbdkit::debug("get %s: %s", name.c_str(), e.what());
    }
  }
}

void Device::make_slots() {
  const DeviceInfo& info = driver_->info();
  const int n = driver_->num_queues();
  slots_.resize(size_t(n));
  if (info.needs_mem_regions) {
    // One region for every queue's bounce buffer: some devices accept
    // only a few regions (vhost-user: 8).
    const size_t align = std::max<uint64_t>(info.mem_region_alignment, 1);
    const size_t each = (kRegionBounceSize + align - 1) / align * align;
    bounce_region_ = driver_->alloc_mem_region(each * size_t(n));
    driver_->map_mem_region(*bounce_region_);
    for (int i = 0; i < n; i++) {
      slots_[size_t(i)].bounce = static_cast<char*>(bounce_region_->addr) + size_t(i) * each;
      slots_[size_t(i)].bounce_len = each;
    }
  }
  for (int i = 0; i < n; i++) {
    slots_[size_t(i)].queue = &driver_->queue(i);
    free_.push_back(&slots_[size_t(i)]);
  }
}

Device::Slot* Device::acquire() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return !free_.empty(); });
  Slot* slot = free_.back();
  free_.pop_back();
  return slot;
}

void Device::release(Slot* slot) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  freed_.notify_one();
}

std::optional<nbdkit::BlockSize> Device::block_size() const {
  const DeviceInfo& info = driver_->info();
  const int64_t minimum = info.request_alignment;
  constexpr int64_t kMaxMinimum = 64 << 10, kMaxPreferred = 32 << 20;
  if (minimum < 1 || minimum > kMaxMinimum || !std::has_single_bit(uint64_t(minimum)))
    return std::nullopt;
  int64_t preferred = std::max<int64_t>({info.optimal_io_alignment, minimum, 512});
  preferred = std::min<int64_t>(int64_t(std::bit_ceil(uint64_t(preferred))), kMaxPreferred);
  return nbdkit::BlockSize{uint32_t(minimum), uint32_t(preferred), 0xffffffff};
}

bool Device::needs_bounce(const void* buf) const {
  const DeviceInfo& info = driver_->info();
  return info.needs_mem_regions ||
         (info.buf_alignment > 1 && reinterpret_cast<uintptr_t>(buf) % info.buf_alignment != 0);
}

// The most one request to the device may carry: the device's limit (0:
// none), the bounce buffer's size, a multiple of the request alignment.
size_t Device::chunk_limit(uint64_t device_limit, bool bounced) const {
  const size_t align = size_t(std::max(driver_->info().request_alignment, 1));
  uint64_t limit = device_limit ? device_limit : UINT32_MAX;
  if (bounced) {
    const size_t bounce = bounce_region_ ? slots_[0].bounce_len : kAlignedBounceSize;
    limit = std::min<uint64_t>(limit, bounce);
  }
  return std::max<size_t>(size_t(limit) / align * align, align);
}

namespace {

// Calls fn(done, n) for consecutive pieces of at most `limit` bytes
// covering `count`, stopping at the first error.
template <class Fn>
int split(uint64_t count, size_t limit, Fn fn) {
  for (uint64_t done = 0, n = 0; done < count; done += n) {
    n = std::min<uint64_t>(limit, count - done);
    if (int err = fn(done, n)) return err;
  }
  return 0;
}

}  // namespace

char* Device::bounce_of(Slot& slot) {
  if (!slot.bounce) {
    // Only drivers without memory regions get here: their buffers need
    // the alignment alone.
    const size_t align = std::max<size_t>(size_t(driver_->info().buf_alignment), 4096);
    slot.bounce = static_cast<char*>(std::aligned_alloc(align, kAlignedBounceSize));
    if (!slot.bounce) return nullptr;
    slot.bounce_len = kAlignedBounceSize;
    std::lock_guard lock(mutex_);
    allocated_bounces_.push_back(slot.bounce);
  }
  return slot.bounce;
}

int Device::pread(void* buf, uint32_t count, uint64_t offset) {
  Lease lease(*this);
  Slot& slot = lease.slot();
  const bool bounced = needs_bounce(buf);
  char* const bounce = bounced ? bounce_of(slot) : nullptr;
  if (bounced && !bounce) return ENOMEM;
  char* const out = static_cast<char*>(buf);
  return split(count, chunk_limit(uint32_t(info().max_transfer), bounced),
               [&](uint64_t done, uint64_t n) {
                 slot.queue->read(offset + done, bounced ? bounce : out + done, n, nullptr, 0);
                 const int err = wait_one(*slot.queue);
                 if (!err && bounced) std::memcpy(out + done, bounce, n);
                 return err;
               });
}

int Device::pwrite(const void* buf, uint32_t count, uint64_t offset, bool fua) {
  Lease lease(*this);
  Slot& slot = lease.slot();
  const bool bounced = needs_bounce(buf);
  char* const bounce = bounced ? bounce_of(slot) : nullptr;
  if (bounced && !bounce) return ENOMEM;
  const char* const in = static_cast<const char*>(buf);
  // Pieces run one after another, so FUA on each covers the request.
  const uint32_t flags = fua ? req::fua : 0;
  return split(count, chunk_limit(uint32_t(info().max_transfer), bounced),
               [&](uint64_t done, uint64_t n) {
                 if (bounced) std::memcpy(bounce, in + done, n);
                 slot.queue->write(offset + done, bounced ? bounce : in + done, n, nullptr, flags);
                 return wait_one(*slot.queue);
               });
}

int Device::flush() {
  Lease lease(*this);
  lease.slot().queue->flush(nullptr, 0);
  return wait_one(*lease.slot().queue);
}

int Device::zero(uint32_t count, uint64_t offset, uint32_t flags) {
  uint32_t req_flags = 0;
  if (flags & nbdkit::flags::fua) req_flags |= req::fua;
  if (!(flags & nbdkit::flags::may_trim)) req_flags |= req::no_unmap;
  // A fast zero must not become writes; the server then answers ENOTSUP.
  if (flags & nbdkit::flags::fast_zero) req_flags |= req::no_fallback;
  Lease lease(*this);
  Queue& queue = *lease.slot().queue;
  const int err = split(count, chunk_limit(info().max_write_zeroes_len, false),
                        [&](uint64_t done, uint64_t n) {
                          queue.write_zeroes(offset + done, n, nullptr, req_flags);
                          return wait_one(queue);
                        });
  // EOPNOTSUPP from fallocate is ENOTSUP to the server (its cue to write
  // zeroes itself unless the client asked for a fast zero).
  return err == EOPNOTSUPP ? ENOTSUP : err;
}

int Device::trim(uint32_t count, uint64_t offset, bool fua) {
  Lease lease(*this);
  Queue& queue = *lease.slot().queue;
  const int err = split(count, chunk_limit(info().max_discard_len, false),
                        [&](uint64_t done, uint64_t n) {
                          queue.discard(offset + done, n, nullptr, 0);
                          return wait_one(queue);
                        });
  if (err || !fua) return err;
  queue.flush(nullptr, 0);
  return wait_one(queue);
}

}  // namespace blkio
