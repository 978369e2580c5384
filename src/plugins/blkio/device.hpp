// One started driver instance shared by every client connection, and the
// mapping of NBD requests onto its queues.
//
// Each request takes a queue from a pool (one thread per queue at a
// time), submits, waits for its completion, and gives the queue back, so
// as many requests run at once as there are queues.  Requests larger than
// the device's max-transfer, max-write-zeroes-len or max-discard-len are
// split; buffers go through a per-queue bounce buffer when the driver
// needs memory regions or the client's buffer is misaligned for it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nbdkit/context.hpp>

#include "driver.hpp"

namespace blkio {

// What the command line asked for.
struct DeviceSettings {
  std::string driver;
  // PROPERTY=VALUE in command-line order (`path` made absolute).
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<std::string> gets;  // get=PROPERTY, printed with -v once started
};

// Without num-queues, as many queues as this (or max-queues if fewer):
// enough for the server's worker threads to keep the device busy.
inline constexpr int32_t kDefaultQueues = 16;

class Device {
 public:
  // Creates the driver, sets the properties each in the state that
  // accepts it (created-state ones before connect, the others after),
  // starts it and prints the get= values.  Throws Error, saying which
  // step failed.
  Device(const DeviceSettings& settings, bool readonly);
  ~Device();

  uint64_t size() const { return driver_->info().capacity; }
  bool read_only() const { return driver_->read_only(); }
  std::optional<nbdkit::BlockSize> block_size() const;
  const DeviceInfo& info() const { return driver_->info(); }

  // Data calls: 0 or a positive errno.
  int pread(void* buf, uint32_t count, uint64_t offset);
  int pwrite(const void* buf, uint32_t count, uint64_t offset, bool fua);
  int flush();
  // nbdkit::flags (fua, may_trim, fast_zero).
  int zero(uint32_t count, uint64_t offset, uint32_t flags);
  int trim(uint32_t count, uint64_t offset, bool fua);

 private:
  struct Slot {
    Queue* queue;
    char* bounce = nullptr;
    size_t bounce_len = 0;
  };
  class Lease;

  void set_properties(const DeviceSettings& settings, bool before_connect);
  void print_gets(const std::vector<std::string>& gets) const;
  void make_slots();
  Slot* acquire();
  void release(Slot* slot);
  size_t chunk_limit(uint64_t device_limit, bool bounced) const;
  bool needs_bounce(const void* buf) const;
  // The slot's bounce buffer, allocated on first use; nullptr if out of memory.
  char* bounce_of(Slot& slot);

  std::unique_ptr<Driver> driver_;
  std::vector<Slot> slots_;
  std::optional<MemRegion> bounce_region_;  // for drivers that need memory regions
  std::vector<char*> allocated_bounces_;    // otherwise, one aligned buffer per slot
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<Slot*> free_;
};

}  // namespace blkio
