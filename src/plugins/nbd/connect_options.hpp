// Where and how the nbd plugin reaches the upstream server: the plugin's
// parameters, checked, and the libnbd calls that open a connection with
// them.
#pragma once

#include <libnbd.h>

#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/context.hpp>

namespace nbd_plugin {

enum class Transport { none, unix_socket, tcp, vsock, uri, socket_fd, command };

struct ConnectOptions {
  Transport transport = Transport::none;
  std::string socket;    // socket=
  std::string hostname;  // hostname=
  std::string port;      // port= (a number or a service name)
  uint32_t vsock_cid = 0;
  std::string uri;
  int socket_fd = -1;
  std::string program;            // command=
  std::vector<std::string> args;  // each arg=
  std::string export_name;
  bool export_given = false;
  unsigned retries = 0;
  bool shared = false;
  bool shared_given = false;
  bool dynamic_export = false;
  int tls = LIBNBD_TLS_DISABLE;
  bool tls_given = false;  // tls= itself
  bool tls_options = false;  // any other tls-* parameter
  std::string tls_certificates, tls_username, tls_psk;
  bool tls_verify = true;

  // Takes one key=value; returns false for a key that is not ours.
  bool set(std::string_view key, std::string_view value);
  // Checks the combination once every parameter is in, settling defaults
  // (shared for command= and socket-fd=, tls=on when only tls-* was given).
  void check();
};

// A new handle connected to the upstream server as `options` say, the
// export being `export_name` when given, else the configured one.  Retries
// `options.retries` times, a second apart.  Throws nbdkit::Error.
nbd_handle* open_connected_handle(const ConnectOptions& options, const std::string* export_name);

// NBD_OPT_LIST on the upstream server (dynamic-export=true).
std::vector<nbdkit::ExportInfo> list_upstream_exports(const ConnectOptions& options);

}  // namespace nbd_plugin
