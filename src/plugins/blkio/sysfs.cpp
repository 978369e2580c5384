#include "sysfs.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>
#include <fstream>

namespace blkio {

std::string sysfs_queue_dir(dev_t dev) {
  const std::string base =
      "/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  for (const char* queue : {"/queue", "/../queue"}) {
    const std::string dir = base + queue;
    if (::access(dir.c_str(), R_OK) == 0) return dir;
  }
  return {};
}

std::optional<std::string> read_sysfs(const std::string& dir, const char* name) {
  if (dir.empty()) return std::nullopt;
  std::ifstream in(dir + "/" + name);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<uint64_t> read_sysfs_number(const std::string& dir, const char* name) {
  const auto text = read_sysfs(dir, name);
  if (!text) return std::nullopt;
  uint64_t value;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr == text->data()) return std::nullopt;
  return value;
}

}  // namespace blkio
