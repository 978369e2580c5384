// Messages from the server, plugins and filters.  Debug messages (-v)
// always go to stderr; errors go to the --log target.  Every message is
// formatted in full first and written with one call, so lines from
// different threads never interleave.
#include "log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <nbdkit/plugin.hpp>

namespace nbdkit::server {

namespace {

struct LogState {
  std::mutex mutex;  // guards `file` and the syslog connection
  // Read on every debug() call from any thread, without the mutex.
  std::atomic<bool> verbose = false;
  LogTarget target = LogTarget::default_;
  bool daemonized = false;
  FILE* file = nullptr;
  bool syslog_open = false;
  // Set at start-up before any other thread exists, then only read.
  std::map<std::string, int> debug_flags;
};

LogState& state() {
  static LogState log_state;
  return log_state;
}

// "NAME.FLAG" for every flag declared with NBDKIT_DEBUG_FLAG; filled
// during static initialisation, then only read.
std::set<std::string>& declared_debug_flags() {
  static std::set<std::string> flags;
  return flags;
}

thread_local const char* thread_name = nullptr;

// "nbdkit: NAME: KIND: message\n", the message's own newline dropped.
std::string format_line(const char* kind, const char* fmt, va_list args) {
  std::string line = "nbdkit: ";
  if (thread_name && *thread_name) {
    line += thread_name;
    line += ": ";
  }
  line += kind;
  line += ": ";

  va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (length > 0) {
    const size_t prefix = line.size();
    line.resize(prefix + static_cast<size_t>(length) + 1);
    std::vsnprintf(line.data() + prefix, static_cast<size_t>(length) + 1, fmt, args);
    line.resize(prefix + static_cast<size_t>(length));
  }
  if (!line.empty() && line.back() == '\n') line.pop_back();
  line += '\n';
  return line;
}

void write_to_fd(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report a failing log
    done += static_cast<size_t>(n);
  }
}

LogTarget effective_error_target(const LogState& s) {
  if (s.target == LogTarget::default_) return s.daemonized ? LogTarget::syslog : LogTarget::stderr_;
  return s.target;
}

void emit_error(const std::string& line) {
  LogState& s = state();
  std::lock_guard lock(s.mutex);
  switch (effective_error_target(s)) {
    case LogTarget::null:
      return;
    case LogTarget::file:
      if (s.file) {
        std::fputs(line.c_str(), s.file);
        std::fflush(s.file);
        return;
      }
      break;
    case LogTarget::syslog: {
      if (!s.syslog_open) {
        openlog("nbdkit", LOG_PID, LOG_DAEMON);
        s.syslog_open = true;
      }
      // syslog adds its own program name and newline.
      const std::string_view text(line);
      const auto body = text.substr(std::strlen("nbdkit: "), text.size() - 1 - std::strlen("nbdkit: "));
      ::syslog(LOG_ERR, "%.*s", static_cast<int>(body.size()), body.data());
      return;
    }
    case LogTarget::default_:
    case LogTarget::stderr_:
      break;
  }
  write_to_fd(STDERR_FILENO, line);
}

}  // namespace

void configure_logging(const Options& options) {
  LogState& s = state();
  std::lock_guard lock(s.mutex);
  s.verbose = options.verbose;
  s.target = options.log;
  s.debug_flags = options.debug_flags;
  if (s.file) {
    std::fclose(s.file);
    s.file = nullptr;
  }
  if (options.log == LogTarget::file) {
    s.file = std::fopen(options.log_file.c_str(), "ae");
    if (!s.file)
      throw Error("--log=" + options.log_file + ": cannot open: " + std::strerror(errno), errno);
  }
}

void logging_after_fork(bool daemonized) {
  LogState& s = state();
  std::lock_guard lock(s.mutex);
  s.daemonized = daemonized;
}

bool verbose() { return state().verbose; }

void warning(const char* fmt, ...) {
  const int saved_errno = errno;
  va_list args;
  va_start(args, fmt);
  emit_error(format_line("warning", fmt, args));
  va_end(args);
  errno = saved_errno;
}

int debug_flag_or(std::string_view key, int fallback) {
  const auto& flags = state().debug_flags;
  const auto found = flags.find(std::string(key));
  return found == flags.end() ? fallback : found->second;
}

void warn_unused_debug_flags(const std::vector<std::string>& layer_names) {
  for (const auto& [key, value] : state().debug_flags) {
    const std::string name = key.substr(0, key.find('.'));
    if (name != "nbdkit" &&
        std::find(layer_names.begin(), layer_names.end(), name) == layer_names.end())
      warning("-D %s: no plugin or filter called %s is in use; the flag is ignored",
              key.c_str(), name.c_str());
    else if (!declared_debug_flags().contains(key))
      warning("-D %s: %s has no debug flag called %s; the flag is ignored", key.c_str(),
              name.c_str(), key.c_str() + name.size() + 1);
  }
}

void set_thread_log_name(const char* name) { thread_name = name; }
const char* thread_log_name() { return thread_name; }

std::vector<std::pair<std::string, int>> debug_flags_of(std::string_view layer) {
  std::vector<std::pair<std::string, int>> found;
  for (const auto& [key, value] : state().debug_flags) {
    const std::string_view name(key);
    if (name.size() > layer.size() && name.substr(0, layer.size()) == layer &&
        name[layer.size()] == '.')
      found.emplace_back(key.substr(layer.size() + 1), value);
  }
  return found;
}

namespace {
std::atomic<bool> stdio_busy = false;
}  // namespace

void set_stdio_in_use(bool in_use) { stdio_busy = in_use; }
bool stdio_in_use() { return stdio_busy; }

}  // namespace nbdkit::server

namespace nbdkit {

void vdebug(const char* fmt, va_list args) {
  if (!server::verbose()) return;
  const int saved_errno = errno;
  const std::string line = server::format_line("debug", fmt, args);
  server::write_to_fd(STDERR_FILENO, line);
  errno = saved_errno;
}

void debug(const char* fmt, ...) {
  if (!server::verbose()) return;
  va_list args;
  va_start(args, fmt);
  vdebug(fmt, args);
  va_end(args);
}

void verror(const char* fmt, va_list args) {
  const int saved_errno = errno;
  server::emit_error(server::format_line("error", fmt, args));
  errno = saved_errno;
}

void error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  verror(fmt, args);
  va_end(args);
}

bool debug_enabled() { return server::verbose(); }

detail::DebugFlagRegistrar::DebugFlagRegistrar(const char* layer, const char* flag) {
  server::declared_debug_flags().insert(std::string(layer) + '.' + flag);
}

int debug_flag(std::string_view layer, std::string_view flag) {
  std::string key(layer);
  key += '.';
  key += flag;
  return server::debug_flag_or(key, 0);
}

}  // namespace nbdkit
