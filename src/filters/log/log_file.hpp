// The log filter's output: one timestamped line per event, written whole
// so that lines of parallel requests never interleave.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace nbdkit::filters::log {

class LogFile {
 public:
  LogFile() = default;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  // Throws nbdkit::Error when the file cannot be opened.
  void open(const std::string& path, bool append);
  bool is_open() const { return file_ != nullptr; }
  // Writes "TIMESTAMP TEXT\n" (local time, microseconds) and flushes.
  void line(std::string_view text);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

// `text` in shell quotes when it needs them ("" for an empty string),
// as nbdkit prints export names.
std::string shell_quoted(std::string_view text);

// "EIO" for EIO; the number when the name is unknown.
std::string errno_name(int err);

// "0x1f"
std::string hex(uint64_t value);

}  // namespace nbdkit::filters::log
