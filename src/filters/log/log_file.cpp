#include "log_file.hpp"

#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <nbdkit/services.hpp>

namespace nbdkit::filters::log {

LogFile::~LogFile() {
  if (file_) std::fclose(file_);
}

void LogFile::open(const std::string& path, bool append) {
  file_ = std::fopen(path.c_str(), append ? "ae" : "we");
  if (!file_) throw Error("logfile: " + path + ": " + std::strerror(errno), errno);
}

void LogFile::line(std::string_view text) {
  timeval now;
  ::gettimeofday(&now, nullptr);
  tm local;
  ::localtime_r(&now.tv_sec, &local);
  char stamp[64];
  const size_t length = std::strftime(stamp, sizeof stamp, "%F %T", &local);
  std::lock_guard lock(mutex_);
  if (!file_) return;
  std::fprintf(file_, "%.*s.%06ld %.*s\n", static_cast<int>(length), stamp,
               static_cast<long>(now.tv_usec), static_cast<int>(text.size()), text.data());
  std::fflush(file_);
}

std::string shell_quoted(std::string_view text) {
  // Double quotes, escaping what the shell expands inside them.
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

std::string errno_name(int err) {
  if (const char* name = ::strerrorname_np(err)) return name;
  return std::to_string(err);
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace nbdkit::filters::log
