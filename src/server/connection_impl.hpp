// The state of one client connection, shared by the files that serve its
// phases: negotiation.cpp (handshake and options), transmission.cpp
// (requests and replies) and connection.cpp (lifetime and shutdown).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "conn_buffer.hpp"
#include "connection.hpp"
#include "option_payload.hpp"
#include "request_executor.hpp"
#include "wire.hpp"

namespace nbdkit::server {

// Why option negotiation ended.
enum class Negotiation { transmit, close };

// The receive buffer: one read usually pulls in many request headers.
inline constexpr size_t kReceiveBufferSize = 256u << 10;

class Connection {
 public:
  Connection(ServerContext& ctx, std::unique_ptr<PlainTransport> plain)
      : ctx_(ctx), fd_(plain->fd()), transport_(std::move(plain)) {}

  void serve();

  // From another thread: stop reading new requests.  Requests already
  // received are still answered (those not yet started with ESHUTDOWN).
  void stop() {
    stopping_.store(true);
    ::shutdown(fd_, SHUT_RD);
  }
  // From another thread, when the grace period of a shutdown is over:
  // wakes any read or write blocked on this client so the connection ends.
  void cut() { ::shutdown(fd_, SHUT_RDWR); }

 private:
  // ---- Negotiation (negotiation.cpp) ----
  Negotiation negotiate();
  Negotiation oldstyle_handshake();
  Negotiation newstyle_handshake();
  Negotiation negotiate_options(uint32_t client_flags);
  std::optional<Negotiation> dispatch_option(uint32_t option, uint32_t client_flags);
  Negotiation finish_export_name(const std::string& name, uint32_t client_flags);
  bool read_option_payload(uint32_t option, uint32_t length);
  bool handle_info_or_go(uint32_t option);
  bool send_export_info(uint32_t option, const std::string& name,
                        const nbd::InfoRequest& request);
  void handle_list();
  void handle_meta_context(uint32_t option);
  bool handle_starttls();
  bool open_export(std::string_view name);
  bool send_option_reply(uint32_t option, uint32_t type, const void* data = nullptr,
                         size_t length = 0);
  bool send_option_error(uint32_t option, uint32_t type, const std::string& message);
  // Reads exactly `size` bytes before the --timeout deadline.
  bool read_negotiation(void* buf, size_t size);
  // Applies what is left of the --timeout to the socket's send and receive
  // timeouts (none when `deadline_` is unset).
  bool arm_socket_timeouts();

  // ---- Transmission (transmission.cpp) ----
  void transmission();
  bool fill(size_t wanted);
  bool read_payload(unsigned char* dest, size_t length);
  bool discard_payload(size_t length);
  bool flush_replies();
  bool read_request(nbd::Request& request, nbd::RequestCheck& check, ByteBuffer& payload,
                    const unsigned char** payload_in_place = nullptr);
  void serve_inline();
  void serve_with_workers(unsigned workers);

  ServerContext& ctx_;
  const int fd_;
  std::unique_ptr<Transport> transport_;
  std::atomic<bool> stopping_{false};

  // Negotiated state.
  std::optional<std::chrono::steady_clock::time_point> deadline_;  // --timeout
  OptionPayload option_payload_;
  bool structured_replies_ = false;
  bool base_allocation_ = false;
  std::string meta_context_export_;
  bool listed_ = false;
  std::unique_ptr<Context> context_;
  std::string export_name_;
  ExportHandling handling_;
  nbd::ExportState export_state_{};

  // Transmission buffers (used by the reading thread only), allocated when
  // transmission starts so that clients in negotiation hold little.
  std::unique_ptr<unsigned char[]> receive_;
  size_t receive_start_ = 0, receive_end_ = 0;
  // Requests taken from the buffer since the last read from the client.
  unsigned requests_since_read_ = 0;
  // The most requests one read has brought: how deep the client's queue is.
  unsigned deepest_batch_ = 0;
  ByteBuffer replies_;  // inline mode: replies not yet sent
  bool write_failed_ = false;
};

}  // namespace nbdkit::server
