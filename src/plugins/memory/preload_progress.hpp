// How far preload= has got, for whoever watches a long start-up: with -v
// a debug line at each tenth of the image and a summary (bytes, time);
// otherwise, when stderr is a terminal, one line redrawn in place and
// erased when done; nothing else.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "preload.hpp"

namespace memory {

class PreloadReporter {
 public:
  explicit PreloadReporter(std::string path);
  // Erases the terminal line, also when the preload failed, so that the
  // error that follows is readable.
  ~PreloadReporter();
  PreloadReporter(const PreloadReporter&) = delete;
  PreloadReporter& operator=(const PreloadReporter&) = delete;

  // `done` of `total` bytes of the image (data and holes) are in place.
  void update(uint64_t done, uint64_t total);
  void finish(const PreloadResult& result);

 private:
  const std::string path_;
  const bool verbose_, terminal_;
  const std::chrono::steady_clock::time_point start_;
  int next_tenth_ = 1;
  int shown_percent_ = -1;
};

}  // namespace memory
