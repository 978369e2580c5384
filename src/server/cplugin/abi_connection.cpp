// The nbdkit_* functions of the C ABI about the connection being served
// and the lists a plugin fills: peer and export queries, disconnecting,
// interned strings, extents and exports.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <forward_list>
#include <mutex>
#include <string>

#include "c_abi.hpp"

#include "abi.hpp"
#include "current_connection.hpp"

using namespace nbdkit;

namespace {

// Strings interned outside any connection (configuration) live until exit.
std::mutex global_interned_mutex;
std::forward_list<std::string> global_interned;

const char* intern(std::string text) {
  const auto state = server::current_connection_state();
  if (state) {
    std::lock_guard lock(state->interned_mutex);
    return state->interned.emplace_front(std::move(text)).c_str();
  }
  std::lock_guard lock(global_interned_mutex);
  return global_interned.emplace_front(std::move(text)).c_str();
}

const ConnectionInfo* connection_or_error(const char* function) {
  const ConnectionInfo* info = current_connection();
  if (!info) {
    nbdkit_error("%s: called outside a client connection", function);
    errno = EINVAL;
  }
  return info;
}

// A credential of a Unix-socket peer, or -1 (with an error) otherwise.
template <typename T>
int64_t peer_credential(const char* function, const std::optional<T> ConnectionInfo::*field) {
  const ConnectionInfo* info = connection_or_error(function);
  if (!info) return -1;
  if (!(info->*field)) {
    nbdkit_error("%s: the client is not connected over a Unix socket", function);
    errno = ENOTSOCK;
    return -1;
  }
  return int64_t(*(info->*field));
}

// nbdkit's limits on what a plugin lists.
constexpr size_t kMaxExports = 10000;
constexpr size_t kMaxExportString = 4096;

}  // namespace

extern "C" {

const char* nbdkit_export_name(void) {
  const ConnectionInfo* info = connection_or_error("nbdkit_export_name");
  return info ? info->export_name.c_str() : nullptr;
}

int nbdkit_is_tls(void) {
  const ConnectionInfo* info = connection_or_error("nbdkit_is_tls");
  return info ? info->tls : -1;
}

int nbdkit_peer_name(struct sockaddr* addr, socklen_t* addrlen) {
  const ConnectionInfo* info = connection_or_error("nbdkit_peer_name");
  if (!info) return -1;
  if (info->peer_length == 0) {
    nbdkit_error("nbdkit_peer_name: the peer's address is unknown");
    errno = ENOTCONN;
    return -1;
  }
  std::memcpy(addr, &info->peer, std::min(*addrlen, info->peer_length));
  *addrlen = info->peer_length;
  return 0;
}

int64_t nbdkit_peer_pid(void) {
  return peer_credential("nbdkit_peer_pid", &ConnectionInfo::peer_pid);
}
int64_t nbdkit_peer_uid(void) {
  return peer_credential("nbdkit_peer_uid", &ConnectionInfo::peer_uid);
}
int64_t nbdkit_peer_gid(void) {
  return peer_credential("nbdkit_peer_gid", &ConnectionInfo::peer_gid);
}

char* nbdkit_peer_security_context(void) {
  const ConnectionInfo* info = connection_or_error("nbdkit_peer_security_context");
  if (!info) return nullptr;
  if (info->security_context.empty()) {
    nbdkit_error("nbdkit_peer_security_context: the peer has no security label");
    errno = ENOTSUP;
    return nullptr;
  }
  return strdup(info->security_context.c_str());
}

// Force: cut the connection now.  Otherwise stop reading requests; those
// already read are answered, then the client sees the end of the stream.
void nbdkit_disconnect(int force) {
  const auto state = server::current_connection_state();
  if (!state || state->fd < 0) return;
  ::shutdown(state->fd, force ? SHUT_RDWR : SHUT_RD);
}

const char* nbdkit_strdup_intern(const char* text) {
  return intern(std::string(text));
}

const char* nbdkit_strndup_intern(const char* text, size_t length) {
  return intern(std::string(text, strnlen(text, length)));
}

const char* nbdkit_vprintf_intern(const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (length < 0) {
    nbdkit_error("nbdkit_printf_intern: %m");
    return nullptr;
  }
  std::string text(size_t(length) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.resize(size_t(length));
  return intern(std::move(text));
}

const char* nbdkit_printf_intern(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const char* text = nbdkit_vprintf_intern(fmt, args);
  va_end(args);
  return text;
}

int nbdkit_add_extent(struct nbdkit_extents* extents, uint64_t offset, uint64_t length,
                      uint32_t type) {
  const int r = extents->list->add(offset, length, type);
  if (r == 0) return 0;
  nbdkit_error("nbdkit_add_extent: extents must be added in ascending, contiguous order "
               "(offset %" PRIu64 ", length %" PRIu64 ")", offset, length);
  errno = r;
  return -1;
}

int nbdkit_add_export(struct nbdkit_exports* exports, const char* name,
                      const char* description) {
  if (exports->list.size() >= kMaxExports) {
    nbdkit_error("nbdkit_add_export: too many exports (at most %zu)", kMaxExports);
    errno = EINVAL;
    return -1;
  }
  if (std::strlen(name) > kMaxExportString ||
      (description && std::strlen(description) > kMaxExportString)) {
    nbdkit_error("nbdkit_add_export: export name or description longer than %zu bytes",
                 kMaxExportString);
    errno = EINVAL;
    return -1;
  }
  exports->list.push_back({name, description ? description : ""});
  return 0;
}

int nbdkit_use_default_export(struct nbdkit_exports* exports) {
  exports->use_default = true;
  return 0;
}

// The list functions C filters use (nbdkit-filter.h); exported so that
// plugins borrowing them load too.
struct nbdkit_extent_view {
  uint64_t offset;
  uint64_t length;
  uint32_t type;
};
struct nbdkit_export_view {
  char* name;
  char* description;
};

struct nbdkit_extents* nbdkit_extents_new(uint64_t start, uint64_t end) {
  if (start > end) {
    nbdkit_error("nbdkit_extents_new: start (%" PRIu64 ") > end (%" PRIu64 ")", start, end);
    errno = ERANGE;
    return nullptr;
  }
  return new (std::nothrow) nbdkit_extents(start, end);
}

void nbdkit_extents_free(struct nbdkit_extents* extents) { delete extents; }

size_t nbdkit_extents_count(const struct nbdkit_extents* extents) {
  return extents->list->extents().size();
}

struct nbdkit_extent_view nbdkit_get_extent(const struct nbdkit_extents* extents, size_t i) {
  const Extent& e = extents->list->extents().at(i);
  return {e.offset, e.length, e.type};
}

struct nbdkit_exports* nbdkit_exports_new(void) { return new (std::nothrow) nbdkit_exports; }

void nbdkit_exports_free(struct nbdkit_exports* exports) { delete exports; }

size_t nbdkit_exports_count(const struct nbdkit_exports* exports) {
  return exports->list.size();
}

// The strings stay owned by the list, as nbdkit's documentation says.
struct nbdkit_export_view nbdkit_get_export(const struct nbdkit_exports* exports, size_t i) {
  const ExportInfo& e = exports->list.at(i);
  return {const_cast<char*>(e.name.c_str()), const_cast<char*>(e.description.c_str())};
}

}  // extern "C"
