#include "blob.hpp"

#include <algorithm>

namespace data {

void Blob::zero(uint64_t offset, uint64_t length) {
  if (length == 0 || offset >= written_end()) return;
  const uint64_t end = offset + length;
  // The first run that ends after `offset`.
  auto first = std::partition_point(runs_.begin(), runs_.end(),
                                    [&](const Run& run) { return run.end() <= offset; });
  std::vector<Run> kept;
  auto last = first;
  for (; last != runs_.end() && last->offset < end; ++last) {
    if (last->offset < offset) {
      kept.push_back({last->offset, last->bytes.substr(0, offset - last->offset)});
    }
    if (last->end() > end) {
      kept.push_back({end, last->bytes.substr(end - last->offset)});
    }
  }
  const auto at = runs_.erase(first, last);
  runs_.insert(at, std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
}

void Blob::write(uint64_t offset, std::string_view bytes) {
  if (bytes.empty()) return;
  // The usual case: writing after everything written so far.
  if (offset < written_end()) zero(offset, bytes.size());
  auto at = std::partition_point(runs_.begin(), runs_.end(),
                                 [&](const Run& run) { return run.offset < offset; });
  if (at != runs_.begin() && std::prev(at)->end() == offset) {
    std::prev(at)->bytes.append(bytes);
  } else {
    at = runs_.insert(at, Run{offset, std::string(bytes)});
    ++at;
  }
  // Join a run that now starts where this one ends.
  if (at != runs_.end() && at->offset == offset + bytes.size()) {
    std::prev(at)->bytes += at->bytes;
    runs_.erase(at);
  }
}

Blob Blob::slice(uint64_t start, uint64_t end) const {
  Blob out;
  out.size = end - start;
  for (const Run& run : runs_) {
    if (run.end() <= start || run.offset >= end) continue;
    const uint64_t from = std::max(run.offset, start);
    const uint64_t to = std::min(run.end(), end);
    out.runs_.push_back({from - start, run.bytes.substr(from - run.offset, to - from)});
  }
  return out;
}

std::string Blob::flatten() const {
  std::string out(size, '\0');
  for (const Run& run : runs_) out.replace(run.offset, run.bytes.size(), run.bytes);
  return out;
}

}  // namespace data
