// The types every layer shares: capabilities, flags, extents, the
// per-connection Context and the Layer lifecycle.  Included by plugin.hpp
// and filter.hpp; see plugin.hpp for the error conventions.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace nbdkit {

// Ordered from most to least restrictive; the server uses the minimum
// over the plugin and every filter.
enum class ThreadModel : int {
  serialize_connections = 0,   // one connection at a time
  serialize_all_requests = 1,  // one request at a time across connections
  serialize_requests = 2,      // one request at a time per connection
  parallel = 3,                // anything goes
};

const char* to_string(ThreadModel model);

enum class FuaSupport { none = 0, emulate = 1, native = 2 };
enum class CacheSupport { none = 0, emulate = 1, native = 2 };

// Flags passed to data calls.
namespace flags {
inline constexpr uint32_t fua = 1u << 0;        // write/trim/zero: persist before returning
inline constexpr uint32_t may_trim = 1u << 1;   // zero: the range may be deallocated
inline constexpr uint32_t req_one = 1u << 2;    // extents: one extent is enough
inline constexpr uint32_t fast_zero = 1u << 3;  // zero: fail with ENOTSUP unless fast
}  // namespace flags

// Extent types as in NBD base:allocation.
namespace extent {
inline constexpr uint32_t data = 0;
inline constexpr uint32_t hole = 1u << 0;
inline constexpr uint32_t zero = 1u << 1;
}  // namespace extent

struct BlockSize {
  uint32_t minimum = 1;
  uint32_t preferred = 4096;
  uint32_t maximum = 0xffffffff;
};

struct Extent {
  uint64_t offset;
  uint64_t length;
  uint32_t type;
};

// Collects the extents a layer reports for [start, end).  add() may be given
// ranges that start before `start` or run past `end`: they are clipped.
// Extents must be added in increasing, contiguous order; adjacent extents of
// the same type are merged.
class ExtentList {
 public:
  ExtentList(uint64_t start, uint64_t end) : start_(start), end_(end) {}

  // Returns 0, or EINVAL for an out-of-order or non-contiguous extent.
  int add(uint64_t offset, uint64_t length, uint32_t type);

  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  // Offset just past the last extent added (start() if none).
  uint64_t next_offset() const;
  // True when extents cover everything up to end().
  bool complete() const { return next_offset() >= end_; }
  const std::vector<Extent>& extents() const { return extents_; }
  void clear() { extents_.clear(); }

 private:
  uint64_t start_, end_;
  std::vector<Extent> extents_;
};

struct ExportInfo {
  std::string name;
  std::string description;
};

// One per client connection (per layer).  Destroying it is close().
class Context {
 public:
  virtual ~Context() = default;

  virtual uint64_t get_size() = 0;
  virtual std::optional<BlockSize> block_size() { return std::nullopt; }
  virtual std::string export_description() { return {}; }

  virtual bool can_write() { return false; }
  virtual bool can_flush() { return false; }
  virtual bool is_rotational() { return false; }
  virtual bool can_trim() { return false; }
  // false: the server emulates zeroing with pwrite when writable.
  virtual bool can_zero() { return false; }
  // false: NBD_CMD_WRITE_ZEROES is not offered at all, not even emulated
  // (nbdkit's NBDKIT_ZERO_NONE; the nozero filter's default).
  virtual bool can_write_zeroes() { return true; }
  virtual bool can_fast_zero() { return false; }
  // false: the server reports the whole disk as data.
  virtual bool can_extents() { return false; }
  // none: the server emulates FUA with flush when can_flush().
  virtual FuaSupport can_fua() { return can_flush() ? FuaSupport::emulate : FuaSupport::none; }
  virtual bool can_multi_conn() { return false; }
  virtual CacheSupport can_cache() { return CacheSupport::none; }

  // Data path: return 0 or a positive errno value.  The server has already
  // checked that the range lies within get_size() and that the call is
  // allowed by the capabilities above.
  virtual int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) = 0;
  virtual int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags);
  virtual int flush(uint32_t flags);
  virtual int trim(uint32_t count, uint64_t offset, uint32_t flags);
  virtual int zero(uint32_t count, uint64_t offset, uint32_t flags);
  virtual int extents(uint32_t count, uint64_t offset, uint32_t flags, ExtentList& out);
  virtual int cache(uint32_t count, uint64_t offset, uint32_t flags);
};

// Lifecycle shared by plugins and filters, in the order the server calls it:
// load, config*, config_complete, get_ready, (fork), after_fork,
// then per connection preconnect/open/close, and at exit cleanup, unload.
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string version() const { return {}; }
  // Text printed by `nbdkit PLUGIN --help`, one "key=value  description" per line.
  virtual std::string config_help() const { return {}; }
  virtual ThreadModel thread_model() const { return ThreadModel::parallel; }
  // Extra `key=value` lines for --dump-plugin.
  virtual void dump_plugin(std::ostream&) const {}

  virtual void load() {}
  virtual void config_complete() {}
  virtual void get_ready() {}
  virtual void after_fork() {}
  // Called for every new connection before open(); throw to refuse it.
  virtual void preconnect(bool /*readonly*/) {}
  virtual void cleanup() {}
  virtual void unload() {}

  // A hint, not part of nbdkit's model: data calls never block on I/O (they
  // only compute or touch memory), so the server may run them on the
  // connection's own thread and batch replies instead of handing them to
  // worker threads.
  virtual bool data_calls_are_nonblocking() const { return false; }
};

}  // namespace nbdkit
