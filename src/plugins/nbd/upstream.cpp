#include "upstream.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nbdkit/services.hpp>

#include "completion_event.hpp"
#include "connect_options.hpp"

namespace nbd_plugin {

// One command's rendezvous between the caller and the dispatcher.  It lives
// on the caller's stack: the caller does not return before the completion
// callback (which libnbd calls exactly once per submitted command) is done
// with it.
struct Upstream::Waiter {
  plugins_common::CompletionEvent done;
  int error = 0;
  nbdkit::ExtentList* extents = nullptr;
  int extents_error = 0;

  static int completed(void* self, int* error) {
    auto* waiter = static_cast<Waiter*>(self);
    waiter->error = *error;
    waiter->done.set();
    return 1;  // retire the command: nobody asks libnbd about it later
  }
  nbd_completion_callback callback() { return {.callback = completed, .user_data = this, .free = nullptr}; }
};

uint32_t command_flags(uint32_t nbdkit_flags) {
  uint32_t out = 0;
  if (nbdkit_flags & nbdkit::flags::fua) out |= LIBNBD_CMD_FLAG_FUA;
  if (!(nbdkit_flags & nbdkit::flags::may_trim)) out |= LIBNBD_CMD_FLAG_NO_HOLE;
  if (nbdkit_flags & nbdkit::flags::req_one) out |= LIBNBD_CMD_FLAG_REQ_ONE;
  if (nbdkit_flags & nbdkit::flags::fast_zero) out |= LIBNBD_CMD_FLAG_FAST_ZERO;
  return out;
}

std::unique_ptr<Upstream> Upstream::connect(const ConnectOptions& options,
                                            const std::string* export_name) {
  std::unique_ptr<Upstream> upstream(new Upstream(open_connected_handle(options, export_name)));
  upstream->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (upstream->wake_fd_ == -1) {
    const int err = errno;
    throw nbdkit::Error(std::string("eventfd: ") + std::strerror(err), err);
  }
  upstream->dispatcher_ = std::thread([raw = upstream.get()] { raw->dispatch(); });
  return upstream;
}

Upstream::Upstream(nbd_handle* handle) : handle_(handle) {}

Upstream::~Upstream() {
  if (dispatcher_.joinable()) {
    stopping_.store(true);
    wake_dispatcher();
    dispatcher_.join();
  }
  if (wake_fd_ != -1) ::close(wake_fd_);
  // Tells the server goodbye (NBD_CMD_DISC) once nothing is in flight;
  // a dead connection makes this fail, which does not matter here.
  if (nbd_aio_is_ready(handle_)) nbd_shutdown(handle_, 0);
  nbd_close(handle_);
}

void Upstream::wake_dispatcher() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

// Reads replies as they arrive (running completion callbacks, which wake
// the callers) and sends what a submitting thread left queued because the
// socket was full.  Ends when asked to or when the connection dies (libnbd
// then fails every command in flight, waking their callers).
void Upstream::dispatch() {
  const int socket_fd = nbd_aio_get_fd(handle_);
  while (!stopping_.load(std::memory_order_relaxed)) {
    const unsigned direction = nbd_aio_get_direction(handle_);
    pollfd fds[2] = {{socket_fd, 0, 0}, {wake_fd_, POLLIN, 0}};
    if (direction & LIBNBD_AIO_DIRECTION_READ) fds[0].events |= POLLIN;
    if (direction & LIBNBD_AIO_DIRECTION_WRITE) fds[0].events |= POLLOUT;
    if (::poll(fds, 2, -1) == -1) {
      if (errno == EINTR) continue;
      nbdkit::error("nbd: poll: %s", std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
    }
    int result = 0;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
      result = nbd_aio_notify_read(handle_);
    else if (fds[0].revents & POLLOUT)
      result = nbd_aio_notify_write(handle_);
    if (result == -1 || nbd_aio_is_dead(handle_) || nbd_aio_is_closed(handle_)) {
      if (!stopping_.load()) nbdkit::error("nbd: connection to the server lost: %s", nbd_get_error());
      break;
    }
  }
}

int Upstream::finish(int64_t cookie, Waiter& waiter) {
  if (cookie == -1) {
    // Not submitted (the connection is gone, or libnbd refused the
    // request): there is nothing to wait for.
    const int err = nbd_get_errno();
    nbdkit::error("nbd: %s", nbd_get_error());
    return err != 0 ? err : EIO;
  }
  // libnbd sends what it can at once; bytes left over wait for POLLOUT,
  // which the dispatcher only asks for once told.
  if (nbd_aio_get_direction(handle_) & LIBNBD_AIO_DIRECTION_WRITE) wake_dispatcher();
  waiter.done.wait();
  if (waiter.error == 0 && waiter.extents_error != 0) return waiter.extents_error;
  return waiter.error;
}

int Upstream::pread(void* buf, uint32_t count, uint64_t offset) {
  Waiter waiter;
  return finish(nbd_aio_pread(handle_, buf, count, offset, waiter.callback(), 0), waiter);
}

int Upstream::pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) {
  Waiter waiter;
  return finish(nbd_aio_pwrite(handle_, buf, count, offset, waiter.callback(),
                               command_flags(flags) & LIBNBD_CMD_FLAG_FUA),
                waiter);
}

int Upstream::flush() {
  Waiter waiter;
  return finish(nbd_aio_flush(handle_, waiter.callback(), 0), waiter);
}

int Upstream::trim(uint32_t count, uint64_t offset, uint32_t flags) {
  Waiter waiter;
  return finish(nbd_aio_trim(handle_, count, offset, waiter.callback(),
                             command_flags(flags) & LIBNBD_CMD_FLAG_FUA),
                waiter);
}

int Upstream::zero(uint32_t count, uint64_t offset, uint32_t flags) {
  Waiter waiter;
  const uint32_t wanted =
      LIBNBD_CMD_FLAG_FUA | LIBNBD_CMD_FLAG_NO_HOLE | LIBNBD_CMD_FLAG_FAST_ZERO;
  return finish(nbd_aio_zero(handle_, count, offset, waiter.callback(), command_flags(flags) & wanted),
                waiter);
}

int Upstream::cache(uint32_t count, uint64_t offset) {
  Waiter waiter;
  return finish(nbd_aio_cache(handle_, count, offset, waiter.callback(), 0), waiter);
}

namespace {

// Called by the dispatcher for each block status reply chunk: (length,
// flags) pairs from the chunk's offset on.  Only base:allocation is asked
// for, and its flags are nbdkit's extent types.
int add_extents(void* user_data, const char* context, uint64_t offset, uint32_t* entries,
                size_t count, int* /*error*/) {
  auto* waiter = static_cast<Upstream::Waiter*>(user_data);
  if (std::strcmp(context, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0) return 0;
  for (size_t i = 0; i + 1 < count; i += 2) {
    const int err = waiter->extents->add(offset, entries[i], entries[i + 1] & 3);
    if (err != 0 && waiter->extents_error == 0) waiter->extents_error = err;
    offset += entries[i];
  }
  return 0;
}

}  // namespace

int Upstream::extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) {
  Waiter waiter;
  waiter.extents = &out;
  const nbd_extent_callback callback = {.callback = add_extents, .user_data = &waiter, .free = nullptr};
  return finish(nbd_aio_block_status(handle_, count, offset, callback, waiter.callback(),
                                     command_flags(flags) & LIBNBD_CMD_FLAG_REQ_ONE),
                waiter);
}

}  // namespace nbd_plugin
