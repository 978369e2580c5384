#include "connect_options.hpp"

#include <unistd.h>

#include <cerrno>
#include <memory>

#include <nbdkit/services.hpp>

namespace nbd_plugin {

namespace {

std::string text(std::string_view value) { return std::string(value); }

// libnbd's last error on this thread, as an nbdkit::Error.
nbdkit::Error libnbd_error() {
  const int err = nbd_get_errno();
  return nbdkit::Error(nbd_get_error() ? nbd_get_error() : "libnbd failed", err != 0 ? err : EIO);
}

void check(int result) {
  if (result == -1) throw libnbd_error();
}

struct HandleCloser {
  void operator()(nbd_handle* handle) const { nbd_close(handle); }
};
using OwnedHandle = std::unique_ptr<nbd_handle, HandleCloser>;

// A handle with every setting applied, not yet connected.
OwnedHandle configured_handle(const ConnectOptions& options, const std::string* export_name) {
  OwnedHandle handle(nbd_create());
  if (!handle) throw libnbd_error();
  nbd_handle* h = handle.get();
  if (options.transport != Transport::uri || export_name) {
    const std::string& name = export_name ? *export_name : options.export_name;
    check(nbd_set_export_name(h, name.c_str()));
  }
  check(nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION));
  check(nbd_set_full_info(h, true));
  if (options.transport != Transport::uri) check(nbd_set_tls(h, options.tls));
  if (!options.tls_certificates.empty())
    check(nbd_set_tls_certificates(h, options.tls_certificates.c_str()));
  if (!options.tls_verify) check(nbd_set_tls_verify_peer(h, false));
  if (!options.tls_username.empty()) check(nbd_set_tls_username(h, options.tls_username.c_str()));
  if (!options.tls_psk.empty()) check(nbd_set_tls_psk_file(h, options.tls_psk.c_str()));
  return handle;
}

int connect_once(nbd_handle* h, const ConnectOptions& options) {
  switch (options.transport) {
    case Transport::unix_socket:
      return nbd_connect_unix(h, options.socket.c_str());
    case Transport::tcp:
      return nbd_connect_tcp(h, options.hostname.c_str(),
                             options.port.empty() ? "10809" : options.port.c_str());
    case Transport::vsock:
      return nbd_connect_vsock(h, options.vsock_cid,
                               options.port.empty() ? 10809 : unsigned(std::stoul(options.port)));
    case Transport::uri:
      return nbd_connect_uri(h, options.uri.c_str());
    case Transport::socket_fd:
      return nbd_connect_socket(h, options.socket_fd);
    case Transport::command: {
      std::vector<char*> argv{const_cast<char*>(options.program.c_str())};
      for (const std::string& arg : options.args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      return nbd_connect_systemd_socket_activation(h, argv.data());
    }
    case Transport::none:
      break;
  }
  errno = EINVAL;
  return -1;
}

// Connects, retrying as asked; each try needs a fresh handle (a failed
// connect leaves a handle dead).
OwnedHandle connected_handle(const ConnectOptions& options, const std::string* export_name,
                             bool option_mode) {
  for (unsigned attempt = 0;; ++attempt) {
    OwnedHandle handle = configured_handle(options, export_name);
    if (option_mode) check(nbd_set_opt_mode(handle.get(), true));
    if (connect_once(handle.get(), options) == 0) return handle;
    if (attempt >= options.retries) throw libnbd_error();
    nbdkit::debug("nbd: connecting failed (%s), retrying in a second", nbd_get_error());
    if (nbdkit::nanosleep(1'000'000'000) != 0) throw libnbd_error();
  }
}

}  // namespace

bool ConnectOptions::set(std::string_view key, std::string_view value) {
  auto choose = [&](Transport chosen) {
    if (transport != Transport::none && transport != chosen)
      throw nbdkit::Error(
          "cannot mix Unix 'socket', TCP 'hostname'/'port', 'vsock', 'command', "
          "'socket-fd' and 'uri' parameters");
    if (transport == chosen && chosen != Transport::command)
      throw nbdkit::Error("'" + text(key) + "' given twice");
    transport = chosen;
  };
  if (key == "socket") {
    choose(Transport::unix_socket);
    socket = nbdkit::absolute_path(value);
  } else if (key == "hostname") {
    choose(Transport::tcp);
    hostname = text(value);
  } else if (key == "port") {
    port = text(value);
  } else if (key == "vsock") {
    choose(Transport::vsock);
    vsock_cid = nbdkit::parse_uint32(key, value);
  } else if (key == "uri") {
    choose(Transport::uri);
    uri = text(value);
  } else if (key == "socket-fd") {
    choose(Transport::socket_fd);
    socket_fd = nbdkit::parse_int32(key, value);
    if (socket_fd < 0) throw nbdkit::Error("socket-fd: not a file descriptor");
  } else if (key == "command") {
    if (!program.empty()) throw nbdkit::Error("'command' given twice");
    choose(Transport::command);
    program = text(value);
    if (program.empty()) throw nbdkit::Error("command= must not be empty");
  } else if (key == "arg") {
    choose(Transport::command);
    args.push_back(text(value));
  } else if (key == "export") {
    export_name = text(value);
    export_given = true;
  } else if (key == "retry") {
    const int64_t n = nbdkit::parse_int(key, value);
    if (n < 0) throw nbdkit::Error("retry: negative numbers are not allowed");
    retries = unsigned(n);
  } else if (key == "shared") {
    shared = nbdkit::parse_bool(key, value);
    shared_given = true;
  } else if (key == "dynamic-export") {
    dynamic_export = nbdkit::parse_bool(key, value);
  } else if (key == "tls") {
    tls = value == "require" ? LIBNBD_TLS_REQUIRE
          : nbdkit::parse_bool(key, value) ? LIBNBD_TLS_ALLOW
                                           : LIBNBD_TLS_DISABLE;
    tls_given = true;
  } else if (key == "tls-certificates") {
    tls_certificates = nbdkit::absolute_path(value);
    tls_options = true;
  } else if (key == "tls-verify") {
    tls_verify = nbdkit::parse_bool(key, value);
    tls_options = true;
  } else if (key == "tls-username") {
    tls_username = text(value);
    tls_options = true;
  } else if (key == "tls-psk") {
    tls_psk = nbdkit::absolute_path(value);
    tls_options = true;
  } else {
    return false;
  }
  return true;
}

void ConnectOptions::check() {
  if (transport == Transport::none || (transport == Transport::command && program.empty()))
    throw nbdkit::Error(
        "exactly one of 'socket', 'hostname', 'vsock', 'command', 'socket-fd' and 'uri' "
        "parameters must be specified");
  if (!port.empty() && transport != Transport::tcp && transport != Transport::vsock)
    throw nbdkit::Error("'port' parameter should only be used with 'hostname' or 'vsock'");
  if (transport == Transport::vsock && !port.empty()) nbdkit::parse_uint32("port", port);
  if (!shared_given) shared = transport == Transport::command || transport == Transport::socket_fd;
  if (dynamic_export && shared)
    throw nbdkit::Error("cannot use 'dynamic-export' with shared connection");
  if (dynamic_export && export_given)
    throw nbdkit::Error("cannot use 'dynamic-export' with explicit export name");
  if (!tls_given && tls_options) tls = LIBNBD_TLS_ALLOW;
}

nbd_handle* open_connected_handle(const ConnectOptions& options, const std::string* export_name) {
  return connected_handle(options, export_name, false).release();
}

std::vector<nbdkit::ExportInfo> list_upstream_exports(const ConnectOptions& options) {
  OwnedHandle handle = connected_handle(options, nullptr, true);
  struct Collected {
    std::vector<nbdkit::ExportInfo> exports;
    static int add(void* self, const char* name, const char* description) {
      static_cast<Collected*>(self)->exports.push_back({name, description});
      return 0;
    }
  } collected;
  const nbd_list_callback callback = {.callback = Collected::add, .user_data = &collected,
                                      .free = nullptr};
  check(nbd_opt_list(handle.get(), callback));
  nbd_opt_abort(handle.get());
  return collected.exports;
}

}  // namespace nbd_plugin
