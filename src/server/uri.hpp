// The NBD URI of this server (the `$uri` of --run and --print-uri), in the
// form the NBD project's URI specification prefers.
#pragma once

#include <string>
#include <string_view>

#include "options.hpp"
#include "tls.hpp"

namespace nbdkit::server {

// `unix_socket` is the socket path actually listened on (for `-U -` the
// private one); `tls` the policy in force; `psk_username` the user a PSK
// client should log in as.  Returns "" when there is no address a client
// could use (-s, socket activation).
std::string build_nbd_uri(const Options& options, const std::string& unix_socket, TlsPolicy tls,
                          std::string_view psk_username = {});

// Percent-encodes everything but RFC 3986 unreserved characters and '/'.
std::string uri_encode(std::string_view text);

// One shell word that expands to exactly `text`.
std::string shell_quote(std::string_view text);

}  // namespace nbdkit::server
