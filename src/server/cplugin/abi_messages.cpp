// The nbdkit_* functions of the C ABI that do not depend on a connection:
// messages, nbdkit_set_error, the parsers, paths and passwords.  Each is
// a thin C face on the server's own service (services.hpp).
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "c_abi.hpp"

#include "abi.hpp"
#include "log.hpp"

namespace nbdkit::cplugin {

namespace {

thread_local ErrorCapture* innermost_capture = nullptr;
thread_local int set_error_value = 0;

std::string format(const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (length <= 0) return {};
  std::string text(static_cast<size_t>(length) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.resize(static_cast<size_t>(length));
  return text;
}

// Runs a parser from services.hpp: its nbdkit::Error becomes nbdkit_error
// and -1 with errno EINVAL, as the C parsers report.
template <typename Result, typename Parse>
int c_parse(Result* result, Parse&& parse) {
  try {
    *result = parse();
    return 0;
  } catch (const Error& e) {
    nbdkit_error("%s", e.what());
    errno = EINVAL;
    return -1;
  }
}

char* malloc_copy(const std::string& text) {
  char* copy = strdup(text.c_str());
  if (!copy) nbdkit_error("strdup: %m");
  return copy;
}

// A line from stdin, without echo when it is a terminal.
int read_password_from_tty(std::string& password) {
  if (server::stdio_in_use()) {
    nbdkit_error("stdin is not available for reading the password (-s)");
    return -1;
  }
  const bool tty = ::isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::fputs("password: ", stdout);
    std::fflush(stdout);
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char* line = nullptr;
  size_t capacity = 0;
  const ssize_t length = ::getline(&line, &capacity, stdin);
  const int saved_errno = errno;
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputs("\n", stdout);
  }
  if (length < 0) {
    std::free(line);
    errno = saved_errno;
    nbdkit_error("could not read password from stdin");
    return -1;
  }
  password.assign(line, static_cast<size_t>(length));
  std::free(line);
  if (!password.empty() && password.back() == '\n') password.pop_back();
  return 0;
}

// Everything readable from `fd` (a file or a pipe), one trailing newline
// dropped.
int read_password_from_fd(int fd, const char* what, std::string& password) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      nbdkit_error("reading password from %s: %m", what);
      return -1;
    }
    password.append(buffer, static_cast<size_t>(n));
  }
  if (!password.empty() && password.back() == '\n') password.pop_back();
  return 0;
}

}  // namespace

ErrorCapture::ErrorCapture() : outer_(innermost_capture) {
  innermost_capture = this;
  set_error_value = 0;
}

ErrorCapture::~ErrorCapture() {
  innermost_capture = outer_;
  for (const std::string& message : messages_) error("%s", message.c_str());
}

void ErrorCapture::fail(const std::string& what) {
  const int err = take_set_error();
  std::string message = what + " failed";
  if (!messages_.empty()) {
    message = std::move(messages_.back());
    messages_.pop_back();
  }
  throw Error(message, err != 0 ? err : EIO);  // the destructor prints the rest
}

void capture_or_print(std::string message) {
  if (innermost_capture)
    innermost_capture->messages_.push_back(std::move(message));
  else
    error("%s", message.c_str());
}

int take_set_error() {
  const int value = set_error_value;
  set_error_value = 0;
  return value;
}

void clear_set_error() { set_error_value = 0; }

}  // namespace nbdkit::cplugin

using namespace nbdkit;

extern "C" {

void nbdkit_verror(const char* fmt, va_list args) {
  const int saved_errno = errno;
  cplugin::capture_or_print(cplugin::format(fmt, args));
  errno = saved_errno;
}

void nbdkit_error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  nbdkit_verror(fmt, args);
  va_end(args);
}

void nbdkit_vdebug(const char* fmt, va_list args) { vdebug(fmt, args); }

void nbdkit_debug(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vdebug(fmt, args);
  va_end(args);
}

void nbdkit_set_error(int err) { cplugin::set_error_value = err; }

int64_t nbdkit_parse_size(const char* text) {
  uint64_t size = 0;
  if (cplugin::c_parse(&size, [&] { return parse_size("size", text); }) == -1) return -1;
  if (size > uint64_t(INT64_MAX)) {
    nbdkit_error("size %s is too large", text);
    errno = ERANGE;
    return -1;
  }
  return int64_t(size);
}

int nbdkit_parse_bool(const char* text) {
  bool value = false;
  if (cplugin::c_parse(&value, [&] { return parse_bool("boolean", text); }) == -1) return -1;
  return value;
}

int nbdkit_parse_probability(const char* what, const char* text, double* result) {
  return cplugin::c_parse(result, [&] { return parse_probability(what, text); });
}

int nbdkit_parse_delay(const char* what, const char* text, unsigned* sec, unsigned* nsec) {
  uint64_t ns = 0;
  if (cplugin::c_parse(&ns, [&] { return parse_delay(what, text); }) == -1) return -1;
  if (ns / 1'000'000'000 > UINT_MAX) {
    nbdkit_error("%s: delay %s is too long", what, text);
    errno = ERANGE;
    return -1;
  }
  *sec = unsigned(ns / 1'000'000'000);
  *nsec = unsigned(ns % 1'000'000'000);
  return 0;
}

#define NBDKIT_C_PARSER(c_name, type, parser)                         \
  int c_name(const char* what, const char* text, type* result) {      \
    return cplugin::c_parse(result, [&] { return parser(what, text); }); \
  }
NBDKIT_C_PARSER(nbdkit_parse_int, int, parse_int32)
NBDKIT_C_PARSER(nbdkit_parse_unsigned, unsigned, parse_uint32)
NBDKIT_C_PARSER(nbdkit_parse_int8_t, int8_t, parse_int8)
NBDKIT_C_PARSER(nbdkit_parse_uint8_t, uint8_t, parse_uint8)
NBDKIT_C_PARSER(nbdkit_parse_int16_t, int16_t, parse_int16)
NBDKIT_C_PARSER(nbdkit_parse_uint16_t, uint16_t, parse_uint16)
NBDKIT_C_PARSER(nbdkit_parse_int32_t, int32_t, parse_int32)
NBDKIT_C_PARSER(nbdkit_parse_uint32_t, uint32_t, parse_uint32)
NBDKIT_C_PARSER(nbdkit_parse_int64_t, int64_t, parse_int64)
NBDKIT_C_PARSER(nbdkit_parse_uint64_t, uint64_t, parse_uint64)
#undef NBDKIT_C_PARSER

char* nbdkit_absolute_path(const char* path) {
  if (!path || !*path) {
    nbdkit_error("cannot convert an empty path to an absolute path");
    errno = EINVAL;
    return nullptr;
  }
  try {
    return cplugin::malloc_copy(absolute_path(path));
  } catch (const Error& e) {
    nbdkit_error("%s", e.what());
    errno = e.errno_value;
    return nullptr;
  }
}

char* nbdkit_realpath(const char* path) {
  if (!path || !*path) {
    nbdkit_error("cannot resolve an empty path");
    errno = EINVAL;
    return nullptr;
  }
  char* resolved = ::realpath(path, nullptr);
  if (!resolved) nbdkit_error("realpath: %s: %m", path);
  return resolved;
}

// "-" asks on stdin, "-FD" reads descriptor FD, "+FILE" reads FILE; any
// other value is the password itself.
int nbdkit_read_password(const char* value, char** password) {
  *password = nullptr;
  std::string text;
  int r = 0;
  if (std::strcmp(value, "-") == 0) {
    r = cplugin::read_password_from_tty(text);
  } else if (value[0] == '-') {
    int fd = -1;
    if (nbdkit_parse_int("password file descriptor", value + 1, &fd) == -1) return -1;
    if (fd <= STDERR_FILENO) {
      nbdkit_error("password file descriptor %d is one of stdin, stdout or stderr", fd);
      errno = EINVAL;
      return -1;
    }
    r = cplugin::read_password_from_fd(fd, value, text);
    ::close(fd);
  } else if (value[0] == '+') {
    const int fd = ::open(value + 1, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
      nbdkit_error("open: %s: %m", value + 1);
      return -1;
    }
    r = cplugin::read_password_from_fd(fd, value + 1, text);
    ::close(fd);
  } else {
    text = value;
  }
  if (r == -1) return -1;
  *password = cplugin::malloc_copy(text);
  return *password ? 0 : -1;
}

int nbdkit_stdio_safe(void) { return !server::stdio_in_use(); }

int nbdkit_nanosleep(unsigned sec, unsigned nsec) {
  const int r = nanosleep(uint64_t(sec) * 1'000'000'000 + nsec);
  if (r == 0) return 0;
  errno = r;  // ESHUTDOWN: the caller decides whether that is an error
  return -1;
}

void nbdkit_shutdown(void) { shutdown(0); }

}  // extern "C"
