#include "uri.hpp"

namespace nbdkit::server {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// "?socket=..." style query parameters that tell the client how to do TLS
// when the server insists on it.
std::string tls_query(const Options& options, TlsPolicy tls) {
  if (tls != TlsPolicy::require) return {};
  if (!options.tls.psk_file.empty()) return "tls-psk-file=" + uri_encode(options.tls.psk_file);
  if (!options.tls.certificates_dir.empty())
    return "tls-certificates=" + uri_encode(options.tls.certificates_dir);
  return {};
}

}  // namespace

std::string uri_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

std::string build_nbd_uri(const Options& options, const std::string& unix_socket, TlsPolicy tls,
                          std::string_view psk_username) {
  if (options.single || options.socket_activation) return {};

  const bool secure = tls == TlsPolicy::require;
  // libnbd takes the PSK user from the authority (without one it asks
  // getlogin(), which fails without a terminal).
  const std::string user = secure && !options.tls.psk_file.empty() && !psk_username.empty()
                               ? uri_encode(psk_username) + "@"
                               : std::string();
  // Built by appending: GCC 12 at -O3 warns (-Wrestrict) about the
  // insert that "literal" + std::string&& compiles to.
  std::string path;
  if (!options.exportname.empty()) (path += '/') += uri_encode(options.exportname);
  std::string query = tls_query(options, tls);

  std::string uri;
  if (!unix_socket.empty()) {
    uri = secure ? "nbds+unix://" : "nbd+unix://";
    // After an authority the path must start with '/'.
    if (!user.empty() && path.empty()) path = "/";
    uri += user + path;
    std::string socket_query = "socket=";
    socket_query += uri_encode(unix_socket);
    if (!query.empty()) (socket_query += '&') += query;
    query = std::move(socket_query);
  } else if (options.vsock) {
    // CID 1 is the local host.
    uri = secure ? "nbds+vsock://1" : "nbd+vsock://1";
    if (options.port) (uri += ':') += *options.port;
    uri += path;
  } else {
    // The -i address when given (the server listens nowhere else), else
    // localhost, which X.509 server certificates usually name.
    std::string host = options.ipaddr ? *options.ipaddr : std::string("localhost");
    if (host.find(':') != std::string::npos) host = '[' + host + ']';
    uri = secure ? "nbds://" : "nbd://";
    if (secure) uri += user;
    uri += host;
    if (options.port) (uri += ':') += *options.port;
    uri += path;
  }
  if (!query.empty()) (uri += '?') += query;
  return uri;
}

}  // namespace nbdkit::server
