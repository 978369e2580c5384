// The driver layer, modelled on libblkio (see blkio(3)): a Driver is one
// device instance that moves from created (connection properties such as
// `path` may be set) to connected (the device is open, its geometry known,
// tuning properties such as `num-queues` may be set) to started (queues
// exist).  Requests go to a Queue, which is used by one thread at a time:
// requests are queued, then do_io() submits them and reaps completions.
//
// Writing a driver: derive from Driver, add the driver's own properties
// to table() in the constructor, fill info_ in do_connect(), create
// num_queues() queues in do_start(), register it with
// BLKIO_REGISTER_DRIVER.  The common properties (capacity, num-queues,
// request-alignment, ...) are served from info_ and the fields below.
#pragma once

#include <sys/uio.h>

#include <climits>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "properties.hpp"

namespace blkio {

// Request flags, as libblkio's BLKIO_REQ_*.
namespace req {
inline constexpr uint32_t fua = 1u << 0;          // write, write_zeroes: persist before completing
inline constexpr uint32_t no_unmap = 1u << 1;     // write_zeroes: keep the range allocated
inline constexpr uint32_t no_fallback = 1u << 2;  // write_zeroes: -ENOTSUP rather than writing zeroes
}  // namespace req

struct Completion {
  void* user_data = nullptr;
  int ret = 0;                      // 0 or a negative errno
  const char* error_msg = nullptr;  // optional detail, valid until the next do_io()
};

// A range of memory the device may access (libblkio's struct
// blkio_mem_region).  Drivers with needs_mem_regions only accept I/O
// buffers inside regions mapped with Driver::map_mem_region().
struct MemRegion {
  void* addr = nullptr;
  uint64_t iova = 0;
  size_t len = 0;
  int64_t fd_offset = 0;
  int fd = -1;
  uint32_t flags = 0;
};

// One queue of a started driver.  Not thread-safe: one thread at a time.
// Enqueueing never fails: a request the driver cannot carry out completes
// with an error (-ENOTSUP for an operation it lacks, -EBADF for a write
// to a read-only device, -EINVAL for a misaligned one).
class Queue {
 public:
  virtual ~Queue() = default;

  virtual void read(uint64_t start, void* buf, size_t len, void* user_data, uint32_t flags) = 0;
  virtual void write(uint64_t start, const void* buf, size_t len, void* user_data,
                     uint32_t flags) = 0;
  virtual void write_zeroes(uint64_t start, uint64_t len, void* user_data, uint32_t flags) = 0;
  virtual void discard(uint64_t start, uint64_t len, void* user_data, uint32_t flags) = 0;
  // Persists writes that have completed (not those still in flight).
  virtual void flush(void* user_data, uint32_t flags) = 0;

  // Submits the queued requests, then waits until at least `min`
  // completions are available (or `timeout` passes; nullptr waits for
  // ever) and stores up to `max` of them.  Returns how many were stored,
  // or a negative errno: -EINVAL if min exceeds the requests outstanding,
  // -ETIME on timeout, -EINTR if interrupted.
  virtual int do_io(Completion* completions, int min, int max, timespec* timeout) = 0;
};

// What a driver learns about its device at connect, served as libblkio's
// read-only properties of the same names (hyphens for underscores).
struct DeviceInfo {
  uint64_t capacity = 0;
  int32_t max_queues = 1;
  bool can_add_queues = false;
  bool supports_poll_queues = false;
  uint64_t max_mem_regions = UINT64_MAX;
  bool may_pin_mem_regions = false;
  uint64_t mem_region_alignment = 1;
  bool needs_mem_regions = false;
  bool needs_mem_region_fd = false;
  int32_t request_alignment = 1;
  int32_t optimal_io_alignment = 1;
  int32_t optimal_io_size = 0;
  bool flush_needed = true;
  int32_t buf_alignment = 1;
  int32_t optimal_buf_alignment = 4096;
  bool can_grow = false;
  int32_t max_segments = IOV_MAX;
  int32_t max_segment_len = 0;  // 0: unlimited
  int32_t max_transfer = 0;     // 0: unlimited
  bool supports_fua_natively = false;
  uint64_t max_write_zeroes_len = 0;  // 0: unlimited
  int32_t discard_alignment = 1;
  int32_t discard_alignment_offset = 0;
  uint64_t max_discard_len = 0;  // 0: unlimited

  // Not libblkio properties: whether the device does these at all (the
  // plugin's can_zero/can_trim/can_flush).  libblkio leaves it to a
  // request completing with -ENOTSUP.
  bool supports_write_zeroes = true;
  bool supports_discard = true;
  bool supports_flush = true;
};

class Driver {
 public:
  // Adds the properties every driver has to table().
  explicit Driver(std::string name);
  virtual ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  const std::string& name() const { return name_; }
  State state() const { return state_; }

  // Property access with libblkio's checks for the current state; throw
  // Error.
  std::string get(std::string_view property) const {
    return table_.get_string(property, state_);
  }
  void set(std::string_view property, std::string_view value) {
    table_.set_string(property, value, state_);
  }
  Value get_value(std::string_view property) const { return table_.get(property, state_); }
  void set_value(std::string_view property, const Value& value) {
    table_.set(property, value, state_);
  }
  const PropertyTable& properties() const { return table_; }

  // created -> connected -> started.  Throw Error (the state is unchanged).
  void connect();
  void start();

  // Valid once connected.
  const DeviceInfo& info() const { return info_; }
  bool read_only() const { return read_only_; }
  // Valid once started: queues 0 .. num_queues()-1.
  int num_queues() const { return static_cast<int>(queues_.size()); }
  Queue& queue(int index) { return *queues_.at(index); }

  // Memory regions, once started (libblkio's blkio_alloc_mem_region and
  // friends).  The default allocates a shared memfd mapping, a multiple
  // of mem-region-alignment, and maps and unmaps nothing; drivers whose
  // device must be told (vhost-user's SET_MEM_TABLE) override map/unmap.
  virtual MemRegion alloc_mem_region(size_t len);
  virtual void free_mem_region(const MemRegion& region);
  virtual void map_mem_region(const MemRegion&) {}
  virtual void unmap_mem_region(const MemRegion&) {}

 protected:
  PropertyTable& table() { return table_; }
  // Opens the device and fills info_ (and may adjust read_only_).
  virtual void do_connect() = 0;
  // Creates num_queues_ queues (checked to be 1..max-queues).
  virtual std::vector<std::unique_ptr<Queue>> do_start() = 0;

  DeviceInfo info_;
  bool read_only_ = false;  // `read-only`: writable while created
  int32_t num_queues_ = 1;  // `num-queues`: writable while connected
  int32_t num_poll_queues_ = 0;

 private:
  void add_common_properties();

  std::string name_;
  State state_ = State::created;
  PropertyTable table_;
  std::vector<std::unique_ptr<Queue>> queues_;
};

// The drivers this build knows, by name.
using DriverFactory = std::unique_ptr<Driver> (*)();
struct DriverRegistrar {
  DriverRegistrar(const char* name, DriverFactory make);
};

// A new instance in the created state.  Throws Error: ENOENT "Unknown
// driver name" for a name libblkio does not know either, ENOTSUP for one
// of libblkio's drivers this build or machine cannot offer (saying why).
std::unique_ptr<Driver> create_driver(std::string_view name);

struct DriverAvailability {
  std::string name;
  bool available;
  std::string reason;  // why not, when not available
};
// Every driver libblkio has, in name order.
std::vector<DriverAvailability> known_drivers();

}  // namespace blkio

// Register a driver under its libblkio name.
#define BLKIO_REGISTER_DRIVER(NAME, CLASS)                      \
  static const ::blkio::DriverRegistrar blkio_driver_registrar_{ \
      NAME, []() -> std::unique_ptr<::blkio::Driver> { return std::make_unique<CLASS>(); }}
