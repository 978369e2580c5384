// TLS with GnuTLS.  Credentials are loaded once at start-up (so relative
// paths and bad files fail early, before daemonizing); the PSK file is
// re-read at every handshake so that keys can be added or rotated without
// a restart, as with nbdkit.
#include "tls.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "gnutls_library.hpp"
#include "nbdkit/plugin.hpp"

NBDKIT_DEBUG_FLAG("nbdkit", "tls.log");

namespace nbdkit::server {
namespace {

// Default priorities: GnuTLS's NORMAL set, choosing by our order rather
// than the client's so that AES-GCM (several GB/s with AES-NI/ARMv8 crypto)
// wins over ChaCha20-Poly1305 (an order of magnitude slower there).  This
// matters most for PSK, whose SHA-256 keys rule out AES-256-GCM in TLS 1.3,
// leaving ChaCha20 next in NORMAL's order.  PSK key exchanges are not in
// NORMAL and must be added.
constexpr const char* default_x509_priority =
    "NORMAL:%SERVER_PRECEDENCE:-CHACHA20-POLY1305:+CHACHA20-POLY1305";
constexpr const char* default_psk_priority =
    "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK:%SERVER_PRECEDENCE:-CHACHA20-POLY1305:+CHACHA20-POLY1305";

[[noreturn]] void throw_gnutls(const std::string& what, int code) {
  throw Error(what + ": " + gnutls().strerror(code));
}

void log_gnutls_message(int level, const char* message) {
  std::string_view text(message);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  debug("gnutls: %d: %.*s", level, static_cast<int>(text.size()), text.data());
}

void initialise_gnutls_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (int r = gnutls().global_init(); r < 0) throw_gnutls("gnutls_global_init", r);
    if (int level = debug_flag("nbdkit", "tls.log"); level > 0) {
      gnutls().global_set_log_function(log_gnutls_message);
      gnutls().global_set_log_level(level);
    }
  });
}

bool file_exists(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

// ---- PSK file: psktool's "username:hexkey" lines ----

struct PskEntry {
  std::string_view username;
  std::string_view hex_key;
};

// Blank lines are ignored; anything else must be "username:hexkey".
std::optional<PskEntry> parse_psk_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == line.size()) return std::nullopt;
  auto hex = line.substr(colon + 1);
  bool is_hex = hex.size() % 2 == 0 && std::all_of(hex.begin(), hex.end(), [](char c) {
                  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                });
  if (!is_hex) return std::nullopt;
  return PskEntry{line.substr(0, colon), hex};
}

std::ifstream open_psk_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": " + std::strerror(errno));
  return in;
}

// Checks the whole file; returns its first username (empty if none).
std::string check_psk_file(const std::string& path) {
  auto in = open_psk_file(path);
  std::string line, first_username;
  for (unsigned number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    auto entry = parse_psk_line(line);
    if (!entry)
      throw Error(path + ":" + std::to_string(number) +
                  ": expected a \"username:hexkey\" line as written by psktool");
    if (first_username.empty()) first_username = entry->username;
  }
  return first_username;
}

// GnuTLS's PSK lookup; the session pointer is the PSK file's path.
int lookup_psk(gnutls_session_t session, const char* username, gnutls_datum_t* key) {
  const auto& path = *static_cast<const std::string*>(gnutls().session_get_ptr(session));
  try {
    auto in = open_psk_file(path);
    std::string line;
    while (std::getline(in, line)) {
      auto entry = parse_psk_line(line);
      if (!entry || entry->username != username) continue;
      gnutls_datum_t hex{reinterpret_cast<unsigned char*>(const_cast<char*>(entry->hex_key.data())),
                         static_cast<unsigned>(entry->hex_key.size())};
      if (int r = gnutls().hex_decode2(&hex, key); r < 0) throw_gnutls(path, r);
      return 0;
    }
    error("TLS: PSK username \"%s\" not found in %s", username, path.c_str());
  } catch (const std::exception& e) {
    error("TLS: %s", e.what());
  }
  return -1;
}

// ---- Credentials ----

struct CertificateCredentialsDeleter {
  void operator()(gnutls_certificate_credentials_t c) const { gnutls().certificate_free_credentials(c); }
};
using CertificateCredentials =
    std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, CertificateCredentialsDeleter>;

struct PskCredentialsDeleter {
  void operator()(gnutls_psk_server_credentials_t c) const { gnutls().psk_free_server_credentials(c); }
};
using PskCredentials =
    std::unique_ptr<std::remove_pointer_t<gnutls_psk_server_credentials_t>, PskCredentialsDeleter>;

struct PriorityDeleter {
  void operator()(gnutls_priority_t p) const { gnutls().priority_deinit(p); }
};
using Priority = std::unique_ptr<std::remove_pointer_t<gnutls_priority_t>, PriorityDeleter>;

struct SessionDeleter {
  void operator()(gnutls_session_t s) const { gnutls().deinit(s); }
};
using Session = std::unique_ptr<std::remove_pointer_t<gnutls_session_t>, SessionDeleter>;

std::vector<std::filesystem::path> certificate_directories(const TlsSettings& settings) {
  if (!settings.certificates_dir.empty()) return {settings.certificates_dir};
  if (geteuid() == 0) return {"/etc/pki/nbdkit"};
  const char* home = std::getenv("HOME");
  if (!home || !*home) return {};
  return {std::filesystem::path(home) / ".pki/nbdkit", std::filesystem::path(home) / ".config/pki/nbdkit"};
}

// nullptr when `dir` lacks the CA, certificate or key; throws when they are
// there but GnuTLS cannot use them.
CertificateCredentials load_certificates(const std::filesystem::path& dir) {
  auto ca = dir / "ca-cert.pem", cert = dir / "server-cert.pem", key = dir / "server-key.pem",
       crl = dir / "ca-crl.pem";
  for (const auto& required : {ca, cert, key}) {
    if (!file_exists(required)) {
      debug("TLS: no %s", required.c_str());
      return nullptr;
    }
  }
  initialise_gnutls_once();
  gnutls_certificate_credentials_t raw;
  if (int r = gnutls().certificate_allocate_credentials(&raw); r < 0)
    throw_gnutls("gnutls_certificate_allocate_credentials", r);
  CertificateCredentials creds(raw);
  if (int r = gnutls().certificate_set_x509_trust_file(raw, ca.c_str(), GNUTLS_X509_FMT_PEM); r < 0)
    throw_gnutls("loading CA certificate " + ca.string(), r);
  if (file_exists(crl)) {
    if (int r = gnutls().certificate_set_x509_crl_file(raw, crl.c_str(), GNUTLS_X509_FMT_PEM); r < 0)
      throw_gnutls("loading CA revocation list " + crl.string(), r);
  }
  if (int r = gnutls().certificate_set_x509_key_file2(raw, cert.c_str(), key.c_str(), GNUTLS_X509_FMT_PEM,
                                                    nullptr, 0);
      r < 0)
    throw_gnutls("loading server certificate and key (" + cert.string() + ", " + key.string() + ")", r);
  gnutls().certificate_set_known_dh_params(raw, GNUTLS_SEC_PARAM_MEDIUM);
  debug("TLS: loaded certificates from %s", dir.c_str());
  return creds;
}

Priority compile_priority(const std::string& text) {
  gnutls_priority_t raw;
  const char* error_at = nullptr;
  if (int r = gnutls().priority_init(&raw, text.c_str(), &error_at); r < 0) {
    std::string where = error_at ? std::string(" at \"") + error_at + "\"" : "";
    throw Error("--tls-priority \"" + text + "\"" + where + ": " + gnutls().strerror(r));
  }
  return Priority(raw);
}

// Calls a GnuTLS I/O function until it gets past the non-fatal "try
// again" codes.  The push and pull functions below never report EAGAIN or
// EINTR, so this only loops for GnuTLS's own retries.
template <typename Call>
auto retry_gnutls(Call call) {
  for (;;) {
    auto r = call();
    if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) return r;
  }
}

// ---- The transport over an established session ----

// push() writes out what it has gathered once it holds this much.
constexpr size_t kMaxGathered = 256u << 10;
// pull() reads from the socket up to this much at a time.
constexpr size_t kIncomingBufferSize = 256u << 10;

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(std::unique_ptr<PlainTransport> plain) : plain_(std::move(plain)) {}

  // Two-step construction: GnuTLS keeps a pointer to this object.
  void attach(Session session) {
    session_ = std::move(session);
    gnutls().transport_set_ptr(session_.get(), this);
    gnutls().transport_set_push_function(session_.get(), push);
    gnutls().transport_set_pull_function(session_.get(), pull);
    gnutls().transport_set_pull_timeout_function(session_.get(), pull_timeout);
  }

  gnutls_session_t session() const { return session_.get(); }

  ssize_t read_some(void* buf, size_t size) override;
  int write_all(const struct iovec* iov, int iovcnt, bool more = false) override;
  using Transport::write_all;
  bool has_buffered_input() const override {
    return incoming_start_ < incoming_end_ || gnutls().record_check_pending(session_.get()) > 0;
  }
  void shutdown_write() override;
  bool is_tls() const override { return true; }
  int fd() const override { return plain_->fd(); }

 private:
  static ssize_t push(gnutls_transport_ptr_t self, const void* data, size_t size);
  static ssize_t pull(gnutls_transport_ptr_t self, void* data, size_t size);
  static int pull_timeout(gnutls_transport_ptr_t self, unsigned ms);

  int send_records(const struct iovec* iov, int iovcnt);
  int send_record(const char* data, size_t size);
  // Writes to the socket, keeping a failure's errno for GnuTLS; 0 or -1.
  int write_to_socket(const void* data, size_t size, bool more);
  // Writes what push() gathered; 0, or -1 with errno set.
  int flush_outgoing(bool more);
  void report_transport_errno(int err);

  std::unique_ptr<PlainTransport> plain_;
  Session session_;
  // Reader and writer may be different threads, so each has its own.
  int read_errno_ = 0, write_errno_ = 0;
  // Inside write_all(), push() gathers the encrypted records here and
  // they go out in one system call instead of one per 16 KiB record,
  // which is a third of the server's CPU time for large replies.  Only the
  // writing thread's records are gathered: a reader's GnuTLS may push too
  // (an alert, a key update).
  std::atomic<std::thread::id> gathering_thread_{};
  // What pull() has read from the socket and GnuTLS has not taken yet
  // (the reading thread's alone).
  std::vector<char> incoming_;
  size_t incoming_start_ = 0, incoming_end_ = 0;
  std::vector<char> outgoing_;
  // Gathers small pieces (a reply header) with the start of the payload
  // into one full record, instead of one record per piece.
  std::vector<char> staging_;
};

void TlsTransport::report_transport_errno(int err) {
  // A timeout (EAGAIN from SO_RCVTIMEO/SO_SNDTIMEO) must end the
  // connection, not make GnuTLS ask us to try again forever.
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) err = ETIMEDOUT;
  gnutls().transport_set_errno(session_.get(), err);
}

ssize_t TlsTransport::push(gnutls_transport_ptr_t ptr, const void* data, size_t size) {
  auto* self = static_cast<TlsTransport*>(ptr);
  if (self->gathering_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    const char* bytes = static_cast<const char*>(data);
    self->outgoing_.insert(self->outgoing_.end(), bytes, bytes + size);
    if (self->outgoing_.size() < kMaxGathered || self->flush_outgoing(true) == 0)
      return static_cast<ssize_t>(size);
    return -1;
  }
  return self->write_to_socket(data, size, false) == 0 ? static_cast<ssize_t>(size) : -1;
}

int TlsTransport::write_to_socket(const void* data, size_t size, bool more) {
  if (plain_->write_all(data, size, more) == 0) return 0;
  write_errno_ = errno;
  report_transport_errno(errno);
  return -1;
}

ssize_t TlsTransport::pull(gnutls_transport_ptr_t ptr, void* data, size_t size) {
  auto* self = static_cast<TlsTransport*>(ptr);
  if (self->incoming_start_ == self->incoming_end_) {
    // GnuTLS asks for a record header, then its body: two reads per 16 KiB
    // without this buffer, where a system call is the dearest part.
    if (self->incoming_.empty()) self->incoming_.resize(kIncomingBufferSize);
    ssize_t r = self->plain_->read_some(self->incoming_.data(), self->incoming_.size());
    if (r <= 0) {
      if (r < 0) {
        self->read_errno_ = errno;
        self->report_transport_errno(errno);
      }
      return r;
    }
    self->incoming_start_ = 0;
    self->incoming_end_ = static_cast<size_t>(r);
  }
  const size_t n = std::min(size, self->incoming_end_ - self->incoming_start_);
  std::memcpy(data, self->incoming_.data() + self->incoming_start_, n);
  self->incoming_start_ += n;
  return static_cast<ssize_t>(n);
}

int TlsTransport::pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms) {
  auto* self = static_cast<TlsTransport*>(ptr);
  if (self->incoming_start_ < self->incoming_end_) return 1;
  struct pollfd pfd = {self->plain_->fd(), POLLIN, 0};
  int timeout = ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : static_cast<int>(std::min<unsigned>(ms, 1u << 30));
  return poll(&pfd, 1, timeout);
}

ssize_t TlsTransport::read_some(void* buf, size_t size) {
  for (;;) {
    ssize_t r = gnutls().record_recv(session_.get(), buf, size);
    if (r >= 0) return r;
    switch (r) {
      case GNUTLS_E_AGAIN:
      case GNUTLS_E_INTERRUPTED:
        continue;
      case GNUTLS_E_PREMATURE_TERMINATION:
        // The peer closed the socket without close_notify.  NBD frames its
        // own messages, so this is an ordinary end of stream.
        return 0;
      case GNUTLS_E_PULL_ERROR:
        errno = read_errno_;
        return -1;
      default:
        if (!gnutls().error_is_fatal(static_cast<int>(r))) continue;  // e.g. a warning alert
        debug("TLS: gnutls_record_recv: %s", gnutls().strerror(static_cast<int>(r)));
        errno = ECONNRESET;
        return -1;
    }
  }
}

int TlsTransport::flush_outgoing(bool more) {
  if (outgoing_.empty()) return 0;
  const int r = write_to_socket(outgoing_.data(), outgoing_.size(), more);
  outgoing_.clear();
  return r;
}

int TlsTransport::send_record(const char* data, size_t size) {
  ssize_t r = retry_gnutls([&] { return gnutls().record_send(session_.get(), data, size); });
  if (r == static_cast<ssize_t>(size)) return 0;
  if (r == GNUTLS_E_PUSH_ERROR) {
    errno = write_errno_;
  } else {
    debug("TLS: gnutls_record_send: %s", r < 0 ? gnutls().strerror(static_cast<int>(r)) : "short write");
    errno = EIO;
  }
  return -1;
}

int TlsTransport::write_all(const struct iovec* iov, int iovcnt, bool more) {
  gathering_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  const int r = send_records(iov, iovcnt);
  gathering_thread_.store(std::thread::id{}, std::memory_order_relaxed);
  if (r != 0) {
    outgoing_.clear();
    return -1;
  }
  return flush_outgoing(more);
}

int TlsTransport::send_records(const struct iovec* iov, int iovcnt) {
  const size_t record_size = gnutls().record_get_max_size(session_.get());
  staging_.resize(record_size);

  size_t staged = 0;
  for (int i = 0; i < iovcnt; ++i) {
    const char* data = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      if (staged == 0 && left >= record_size) {
        // Whole records straight from the caller's buffer.
        if (send_record(data, record_size) == -1) return -1;
        data += record_size;
        left -= record_size;
        continue;
      }
      size_t n = std::min(left, record_size - staged);
      std::memcpy(staging_.data() + staged, data, n);
      staged += n;
      data += n;
      left -= n;
      if (staged == record_size) {
        if (send_record(staging_.data(), staged) == -1) return -1;
        staged = 0;
      }
    }
  }
  if (staged > 0 && send_record(staging_.data(), staged) == -1) return -1;
  return 0;
}

void TlsTransport::shutdown_write() {
  int r = retry_gnutls([&] { return gnutls().bye(session_.get(), GNUTLS_SHUT_WR); });
  if (r < 0) debug("TLS: gnutls_bye: %s", gnutls().strerror(r));
  plain_->shutdown_write();
}

// ---- The server ----

class GnuTlsServer final : public TlsServer {
 public:
  GnuTlsServer(TlsPolicy policy, bool verify_peer, Priority priority, CertificateCredentials certificates)
      : policy_(policy),
        verify_peer_(verify_peer),
        priority_(std::move(priority)),
        certificates_(std::move(certificates)) {}
  GnuTlsServer(TlsPolicy policy, Priority priority, PskCredentials psk, std::string psk_path,
               std::string psk_username)
      : policy_(policy),
        verify_peer_(false),
        priority_(std::move(priority)),
        psk_(std::move(psk)),
        psk_path_(std::move(psk_path)),
        psk_username_(std::move(psk_username)) {}

  std::unique_ptr<Transport> upgrade(std::unique_ptr<PlainTransport> plain) override;
  bool uses_psk() const override { return psk_ != nullptr; }
  TlsPolicy policy() const override { return policy_; }
  std::string psk_username() const override { return psk_username_; }

 private:
  Session new_session();

  TlsPolicy policy_;
  bool verify_peer_;
  Priority priority_;
  CertificateCredentials certificates_;
  PskCredentials psk_;
  std::string psk_path_;  // absolute: the server may chdir("/") later
  std::string psk_username_;
};

Session GnuTlsServer::new_session() {
  gnutls_session_t raw;
  if (int r = gnutls().init(&raw, GNUTLS_SERVER); r < 0) throw_gnutls("gnutls_init", r);
  Session session(raw);
  if (int r = gnutls().priority_set(raw, priority_.get()); r < 0) throw_gnutls("gnutls_priority_set", r);
  if (psk_) {
    gnutls().session_set_ptr(raw, &psk_path_);
    if (int r = gnutls().credentials_set(raw, GNUTLS_CRD_PSK, psk_.get()); r < 0)
      throw_gnutls("gnutls_credentials_set", r);
  } else {
    if (int r = gnutls().credentials_set(raw, GNUTLS_CRD_CERTIFICATE, certificates_.get()); r < 0)
      throw_gnutls("gnutls_credentials_set", r);
    if (verify_peer_) {
      gnutls().certificate_server_set_request(raw, GNUTLS_CERT_REQUIRE);
      // No hostname: like nbdkit, any client certificate the CA signed will do.
      gnutls().session_set_verify_cert(raw, nullptr, 0);
    } else {
      gnutls().certificate_server_set_request(raw, GNUTLS_CERT_IGNORE);
    }
  }
  return session;
}

[[noreturn]] void throw_handshake_failure(gnutls_session_t session, int code) {
  std::string message = std::string("gnutls_handshake: ") + gnutls().strerror(code);
  if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
    gnutls_datum_t status{};
    if (gnutls().certificate_verification_status_print(gnutls().session_get_verify_cert_status(session),
                                                     GNUTLS_CRT_X509, &status, 0) == 0) {
      message += std::string(" (") + reinterpret_cast<const char*>(status.data) + ")";
      gnutls().free(status.data);
    }
  }
  throw Error(message, ECONNRESET);
}

std::unique_ptr<Transport> GnuTlsServer::upgrade(std::unique_ptr<PlainTransport> plain) {
  auto transport = std::make_unique<TlsTransport>(std::move(plain));
  transport->attach(new_session());
  gnutls_session_t session = transport->session();
  int r;
  // Besides EAGAIN/EINTR, warning alerts are non-fatal: carry on.
  do r = gnutls().handshake(session);
  while (r < 0 && !gnutls().error_is_fatal(r));
  if (r < 0) throw_handshake_failure(session, r);
  if (char* description = gnutls().session_get_desc(session)) {
    debug("TLS: handshake completed: %s", description);
    gnutls().free(description);
  }
  return transport;
}

}  // namespace

std::unique_ptr<TlsServer> TlsServer::load(const TlsSettings& settings) {
  if (settings.policy == TlsPolicy::off && settings.policy_set) return nullptr;
  TlsPolicy policy = settings.policy_set ? settings.policy : TlsPolicy::on;

  if (!settings.psk_file.empty()) {
    initialise_gnutls_once();
    std::error_code ec;
    auto path = std::filesystem::absolute(settings.psk_file, ec);
    if (ec) throw Error(settings.psk_file + ": " + ec.message());
    std::string first_username = check_psk_file(path);
    gnutls_psk_server_credentials_t raw;
    if (int r = gnutls().psk_allocate_server_credentials(&raw); r < 0)
      throw_gnutls("gnutls_psk_allocate_server_credentials", r);
    PskCredentials psk(raw);
    gnutls().psk_set_server_credentials_function(raw, lookup_psk);
    auto priority = compile_priority(settings.priority.empty() ? default_psk_priority : settings.priority);
    debug("TLS: using PSK file %s", path.c_str());
    return std::make_unique<GnuTlsServer>(policy, std::move(priority), std::move(psk), path.string(),
                                          std::move(first_username));
  }

  for (const auto& dir : certificate_directories(settings)) {
    if (auto certificates = load_certificates(dir)) {
      auto priority =
          compile_priority(settings.priority.empty() ? default_x509_priority : settings.priority);
      return std::make_unique<GnuTlsServer>(policy, settings.verify_peer, std::move(priority),
                                            std::move(certificates));
    }
  }
  debug("TLS disabled: could not load TLS certificates");
  return nullptr;
}

}  // namespace nbdkit::server
