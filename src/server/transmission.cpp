// The transmission phase of a connection: reading requests, executing
// them inline or on worker threads, and sending the replies.
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "connection_impl.hpp"
#include "current_connection.hpp"

NBDKIT_DEBUG_FLAG("nbdkit", "workers");

namespace nbdkit::server {

namespace {

// Reply coalescing.  With a deep client queue (fio at QD32, nbdcopy) each
// wake-up otherwise finds only a request or two, and the kernel's cost of
// waking, reading and sending dominates.  Pausing briefly before a read
// that may block lets requests pile up, so one read and one send serve
// many: server CPU per 4k request fell from ~5 us to ~2 us, and IOPS and
// latency improved because the client gets its replies in batches too.
// With a shallow queue the pause would only add to each round trip, so it
// applies once a read has brought kDeepQueue requests.
constexpr unsigned kDeepQueue = 16;
constexpr long kCoalescePauseNs = 10'000;
// Replies are sent once this much has been collected, even if more
// requests are already waiting.
constexpr size_t kMaxReplyBatch = 1u << 20;
// Reply and payload buffers above this size are given back after use.
constexpr size_t kKeptBufferSize = 4u << 20;

// Held around data calls under the serialize_all_requests thread model.
std::mutex all_requests_mutex;

}  // namespace

// Makes at least `wanted` bytes available in the receive buffer.  Pending
// replies are sent before any read that might wait: that is what lets
// replies to a burst of requests go out in one write.
bool Connection::fill(size_t wanted) {
  if (receive_end_ - receive_start_ >= wanted) return true;
  if (receive_start_ > 0) {
    std::memmove(receive_.get(), receive_.get() + receive_start_, receive_end_ - receive_start_);
    receive_end_ -= receive_start_;
    receive_start_ = 0;
  }
  while (receive_end_ < wanted) {
    if (!replies_.empty() && !transport_->has_buffered_input() && !flush_replies())
      return false;
    deepest_batch_ = std::max(deepest_batch_, requests_since_read_);
    if (requests_since_read_ >= 2 && deepest_batch_ >= kDeepQueue) {
      const struct timespec pause = {0, kCoalescePauseNs};
      ::nanosleep(&pause, nullptr);
    }
    requests_since_read_ = 0;
    const ssize_t n =
        transport_->read_some(receive_.get() + receive_end_, kReceiveBufferSize - receive_end_);
    if (n <= 0) {
      if (n < 0) debug("read from client failed: %s", std::strerror(errno));
      return false;
    }
    receive_end_ += size_t(n);
  }
  return true;
}

// Copies what is buffered, then reads the rest straight into `dest`.
bool Connection::read_payload(unsigned char* dest, size_t length) {
  const size_t buffered = std::min(length, receive_end_ - receive_start_);
  std::memcpy(dest, receive_.get() + receive_start_, buffered);
  receive_start_ += buffered;
  if (buffered == length) return true;
  if (!replies_.empty() && !flush_replies()) return false;
  if (transport_->read_exact(dest + buffered, length - buffered) != 0) {
    debug("client disappeared in the middle of a write payload");
    return false;
  }
  return true;
}

bool Connection::discard_payload(size_t length) {
  while (length > 0) {
    if (!fill(1)) return false;
    const size_t n = std::min(length, receive_end_ - receive_start_);
    receive_start_ += n;
    length -= n;
  }
  return true;
}

bool Connection::flush_replies() {
  if (replies_.empty()) return true;
  const int r = transport_->write_all(replies_.data(), replies_.size());
  replies_.clear();
  replies_.shrink_to(kKeptBufferSize);
  if (r != 0) {
    debug("write to client failed: %s", std::strerror(errno));
    write_failed_ = true;
    return false;
  }
  return true;
}

// Reads the next request and, for a WRITE, its payload (discarding the
// payload of a rejected one so the stream stays in step).  False when the
// connection is over: end of stream, DISC, bad magic or an I/O error.
// With `payload_in_place`, a WRITE payload already whole in the receive
// buffer is not copied: *payload_in_place points at it, valid until the
// next read from the client.  Otherwise (and for the worker threads, which
// outlive that) the payload is copied into `payload`.
bool Connection::read_request(nbd::Request& request, nbd::RequestCheck& check,
                              ByteBuffer& payload, const unsigned char** payload_in_place) {
  // After stop() the socket is shut for reading: what the client had sent
  // by then is still read and answered, then the stream ends.
  if (!fill(nbd::kRequestSize)) return false;
  const bool valid = nbd::decode_request(receive_.get() + receive_start_, request);
  receive_start_ += nbd::kRequestSize;
  ++requests_since_read_;
  if (!valid) {
    error("bad request magic: client is out of step; dropping it");
    return false;
  }
  if (request.type == nbd::kCmdDisc) {
    debug("client sent NBD_CMD_DISC");
    return false;
  }
  check = nbd::check_request(request, export_state_);
  // The spec's answer to requests once the server is shutting down.
  if (check.nbd_error == 0 && stopping_.load())
    check = {nbd::kEshutdown, "the server is shutting down"};
  else if (check.nbd_error != 0)
    error("invalid request: %s: %s (offset=%llu count=%u flags=0x%x)",
          nbd::command_name(request.type), check.reason,
          static_cast<unsigned long long>(request.offset), request.count, request.flags);
  if (request.type != nbd::kCmdWrite) return true;
  if (check.nbd_error != 0) return discard_payload(request.count);
  if (payload_in_place && receive_end_ - receive_start_ >= request.count) {
    *payload_in_place = receive_.get() + receive_start_;
    receive_start_ += request.count;
    return true;
  }
  payload.clear();
  payload.append(request.count);
  if (payload_in_place) *payload_in_place = payload.data();
  return read_payload(payload.data(), request.count);
}

void Connection::serve_inline() {
  const bool serialize_all = ctx_.backend.thread_model() == ThreadModel::serialize_all_requests;
  // Batching only pays when executing never waits on I/O; otherwise each
  // reply goes out as soon as it is ready.
  const bool batch = ctx_.backend.data_calls_are_nonblocking();
  ByteBuffer payload, scratch;
  nbd::Request request;
  nbd::RequestCheck check;
  const unsigned char* write_data = nullptr;
  while (!write_failed_ && read_request(request, check, payload, &write_data)) {
    if (check.nbd_error != 0) {
      append_error_reply(structured_replies_, request, check.nbd_error, replies_);
    } else if (serialize_all) {
      std::lock_guard lock(all_requests_mutex);
      execute_request(handling_, request, write_data, replies_, scratch);
    } else {
      execute_request(handling_, request, write_data, replies_, scratch);
    }
    payload.shrink_to(kKeptBufferSize);
    if (!batch || replies_.size() >= kMaxReplyBatch) flush_replies();
  }
  flush_replies();
}

// Parallel thread model with blocking data calls: `workers` threads (this
// one among them) take turns reading the socket; each runs the request it
// read and writes the reply whole under a mutex.  The thread that read a
// request executes it, so no request waits for a hand-off to another
// thread, and one that finishes while nobody is reading goes straight back
// to reading.  At most `workers` requests are in flight, which bounds
// memory like nbdkit's -t.
void Connection::serve_with_workers(unsigned workers) {
  std::mutex read_mutex;  // the receive buffer and the reading side
  bool reading_done = false;
  std::mutex write_mutex;
  std::atomic<bool> write_failed{false};

  auto work = [&] {
    ByteBuffer payload, reply, scratch;
    nbd::Request request;
    nbd::RequestCheck check;
    for (;;) {
      {
        std::lock_guard lock(read_mutex);
        if (reading_done) return;
        if (write_failed.load() || !read_request(request, check, payload)) {
          reading_done = true;
          return;
        }
      }
      reply.clear();
      if (check.nbd_error != 0)
        append_error_reply(structured_replies_, request, check.nbd_error, reply);
      else
        execute_request(handling_, request, payload.data(), reply, scratch);
      payload.shrink_to(kKeptBufferSize);
      reply.shrink_to(kKeptBufferSize);
      if (write_failed.load()) continue;
      std::lock_guard lock(write_mutex);
      if (transport_->write_all(reply.data(), reply.size()) != 0) {
        debug("write to client failed: %s", std::strerror(errno));
        write_failed.store(true);
        // Wake the thread blocked reading so that it stops.
        ::shutdown(fd_, SHUT_RD);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  try {
    for (unsigned i = 1; i < workers; ++i)
      threads.emplace_back([&, connection_state = current_connection_state()] {
        ConnectionScope scope(connection_state);
        work();
      });
  } catch (const std::system_error& e) {
    // Out of threads (RLIMIT_NPROC, TasksMax, memory): serve with those
    // we have, this one included.
    error("could start only %zu of %u worker threads for this client: %s", threads.size() + 1,
          workers, e.what());
  }
  work();
  for (std::thread& t : threads) t.join();
}

void Connection::transmission() {
  receive_ = std::make_unique_for_overwrite<unsigned char[]>(kReceiveBufferSize);
  const ThreadModel model = ctx_.backend.thread_model();
  const unsigned workers = ctx_.options.threads == 0 ? 16 : ctx_.options.threads;
  // -D nbdkit.workers=1 forces worker threads even for nonblocking layers,
  // so that tests and benchmarks can exercise that path with any plugin.
  const bool force_workers = debug_flag("nbdkit", "workers") != 0;
  if (model == ThreadModel::parallel && workers > 1 &&
      (force_workers || !ctx_.backend.data_calls_are_nonblocking())) {
    debug("handshake complete, serving requests with %u worker threads", workers);
    serve_with_workers(workers);
  } else {
    debug("handshake complete, serving requests on the connection's thread");
    serve_inline();
  }
}

}  // namespace nbdkit::server
