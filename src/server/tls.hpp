// TLS for NBD connections (GnuTLS): X.509 certificates or PSK, loaded once
// at start-up and used to upgrade a connection at NBD_OPT_STARTTLS.
#pragma once

#include <memory>
#include <string>

#include "transport.hpp"

namespace nbdkit::server {

enum class TlsPolicy { off, on, require };

struct TlsSettings {
  TlsPolicy policy = TlsPolicy::off;
  std::string certificates_dir;  // --tls-certificates (empty: default dirs)
  std::string psk_file;          // --tls-psk (takes precedence)
  bool verify_peer = false;      // --tls-verify-peer
  // --tls given at all.  Without it TLS is `on` whenever credentials load
  // and silently off otherwise (as nbdkit).
  bool policy_set = false;
  std::string priority;          // --tls-priority (empty: our default)
};

class TlsServer {
 public:
  // Loads credentials.  Returns nullptr when TLS cannot be offered: with
  // policy `require` that is an error the caller reports; with `on` the
  // server runs in plaintext after a warning (as nbdkit does).
  // Throws nbdkit::Error with a clear message for unreadable or bad files.
  static std::unique_ptr<TlsServer> load(const TlsSettings& settings);

  virtual ~TlsServer() = default;

  // Runs the server side of the TLS handshake over `plain` (which the
  // result takes over).  Throws nbdkit::Error on failure; the caller drops
  // the connection.
  virtual std::unique_ptr<Transport> upgrade(std::unique_ptr<PlainTransport> plain) = 0;

  virtual bool uses_psk() const = 0;

  // The policy in force: `on` or `require` (`on` also when --tls was not
  // given and credentials were found).  Drives $tls and require checks.
  virtual TlsPolicy policy() const = 0;

  // The first username in the PSK file as it was at start-up (empty for
  // X.509): what a --run URI names, since libnbd otherwise falls back to
  // the login name.
  virtual std::string psk_username() const = 0;
};

}  // namespace nbdkit::server
