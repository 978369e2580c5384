// One connection to the upstream NBD server, through libnbd's asynchronous
// API so that any number of threads can have requests in flight on it at
// once: a caller submits its command and sleeps until the completion
// callback wakes it, while one dispatcher thread per connection moves bytes
// (reads replies, and sends whatever libnbd could not send at once).
#pragma once

#include <libnbd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <nbdkit/context.hpp>

namespace nbd_plugin {

struct ConnectOptions;

class Upstream {
 public:
  // Connects (retrying as the options say) and starts the dispatcher.
  // `export_name` overrides the configured export (dynamic-export=true).
  // Throws nbdkit::Error with libnbd's reason.
  static std::unique_ptr<Upstream> connect(const ConnectOptions& options,
                                           const std::string* export_name);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  nbd_handle* handle() const { return handle_; }

  // Data calls: 0 or an errno value, as in nbdkit::Context.
  int pread(void* buf, uint32_t count, uint64_t offset);
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags);
  int flush();
  int trim(uint32_t count, uint64_t offset, uint32_t flags);
  int zero(uint32_t count, uint64_t offset, uint32_t flags);
  int cache(uint32_t count, uint64_t offset);
  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out);

  struct Waiter;  // one command in flight (upstream.cpp)

 private:
  explicit Upstream(nbd_handle* handle);
  // Waits for the command whose submission returned `cookie`.
  int finish(int64_t cookie, Waiter& waiter);
  void dispatch();
  void wake_dispatcher();

  nbd_handle* handle_;
  int wake_fd_ = -1;  // eventfd: new bytes to send, or stop
  std::atomic<bool> stopping_{false};
  std::thread dispatcher_;
};

// nbdkit's NBD command flags mapped to libnbd's.
uint32_t command_flags(uint32_t nbdkit_flags);

}  // namespace nbd_plugin
