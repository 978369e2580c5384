#include "preload_progress.hpp"

#include <unistd.h>

#include <algorithm>

#include <nbdkit/plugin.hpp>

namespace memory {

namespace {

void to_terminal(const std::string& text) {
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

using ull = unsigned long long;

}  // namespace

PreloadReporter::PreloadReporter(std::string path)
    : path_(std::move(path)),
      verbose_(nbdkit::debug_enabled()),
      // With -v the debug lines say it all; a redrawn line would garble them.
      terminal_(!verbose_ && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

PreloadReporter::~PreloadReporter() {
  if (terminal_ && shown_percent_ >= 0) to_terminal("\r\033[K");
}

void PreloadReporter::update(uint64_t done, uint64_t total) {
  if (total == 0) return;
  done = std::min(done, total);
  const int percent = static_cast<int>(done * 100 / total);
  // Each tenth gets its line, also those a hole skips past.
  for (; next_tenth_ <= percent / 10; ++next_tenth_)
    if (verbose_)
      nbdkit::debug("preload: %d%% (%llu of %llu bytes)", next_tenth_ * 10, ull(done), ull(total));
  if (terminal_ && percent != shown_percent_) {
    shown_percent_ = percent;
    to_terminal("\rnbdkit: memory: preloading " + path_ + ": " + std::to_string(percent) + "%");
  }
}

void PreloadReporter::finish(const PreloadResult& result) {
  update(result.image_bytes, result.image_bytes);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  nbdkit::debug("preloaded %s: %llu bytes (%llu bytes of data) in %.3f s, %.0f MiB/s",
                path_.c_str(), ull(result.image_bytes), ull(result.data_bytes), seconds,
                seconds > 0 ? double(result.image_bytes) / seconds / (1 << 20) : 0.0);
}

}  // namespace memory
