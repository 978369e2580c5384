#include "stream.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iterator>

#include <nbdkit/plugin.hpp>

namespace streaming {
namespace {

// Logs why the stream broke; every later request fails without a message
// of its own, so this one has to say it.
int mark_broken(bool& broken, const char* fmt, va_list args) {
  char reason[512];
  vsnprintf(reason, sizeof reason, fmt, args);
  nbdkit::error("%s; the stream is broken and every further request fails with EIO", reason);
  broken = true;
  return EIO;
}

// How many bytes at the start of a read stream are kept for re-reading.
constexpr uint64_t head_size = uint64_t{1} << 20;
// Unit in which skipped-over bytes are held.
constexpr uint64_t skip_chunk = uint64_t{1} << 20;

// What a held write counts against the window: zero writes hold no data
// but must not pile up without limit either.
uint64_t memory_cost(uint64_t data_bytes) { return data_bytes + 64; }

}  // namespace

// ---- StreamWriter ----

StreamWriter::StreamWriter(std::unique_ptr<PipeEnd> pipe, uint64_t window)
    : pipe_(std::move(pipe)), window_(window) {}

bool StreamWriter::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

int StreamWriter::break_stream(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int err = mark_broken(broken_, fmt, args);
  va_end(args);
  return err;
}

int StreamWriter::write(const void* buf, uint32_t count, uint64_t offset) {
  return accept(buf, count, offset);
}

int StreamWriter::zero(uint32_t count, uint64_t offset) { return accept(nullptr, count, offset); }

int StreamWriter::accept(const void* data, uint32_t count, uint64_t offset) {
  std::lock_guard lock(mutex_);
  if (broken_) return EIO;
  if (count == 0) return 0;
  const uint64_t end = offset + count;
  if (offset < streamed_)
    return break_stream("the client wrote at offset %" PRIu64
                        ", below offset %" PRIu64
                        " which the stream has already reached (a streaming client must write "
                        "from the start towards the end)",
                        offset, streamed_);
  auto next = pending_.lower_bound(offset);
  bool overlaps = (next != pending_.end() && next->first < end) ||
                  (next != pending_.begin() &&
                   std::prev(next)->first + std::prev(next)->second.length > offset);
  if (overlaps)
    return break_stream("the client wrote the range at offset %" PRIu64 " length %" PRIu32
                        " more than once",
                        offset, count);
  highest_ = std::max(highest_, end);

  if (offset == streamed_) {
    // The common case: straight from the request buffer into the stream.
    int err = emit(data, count);
    if (err != 0) return err;
    return emit_contiguous_pending();
  }

  Pending held{count, {}};
  if (data) {
    const char* bytes = static_cast<const char*>(data);
    held.data.assign(bytes, bytes + count);
  }
  pending_bytes_ += memory_cost(held.data.size());
  pending_.emplace(offset, std::move(held));
  while (pending_bytes_ > window_) {
    int err = emit_lowest_pending();
    if (err != 0) return err;
  }
  return 0;
}

int StreamWriter::emit(const void* data, uint64_t count) {
  int err = pipe_->write_all(data, count);
  if (err != 0)
    return break_stream("could not write %" PRIu64 " bytes at offset %" PRIu64 " to %s", count,
                        streamed_, pipe_->path().c_str());
  streamed_ += count;
  return 0;
}

int StreamWriter::emit_contiguous_pending() {
  while (!pending_.empty() && pending_.begin()->first == streamed_) {
    auto node = pending_.extract(pending_.begin());
    Pending& held = node.mapped();
    pending_bytes_ -= memory_cost(held.data.size());
    int err = emit(held.data.empty() ? nullptr : held.data.data(), held.length);
    if (err != 0) return err;
  }
  return 0;
}

int StreamWriter::emit_lowest_pending() {
  const uint64_t gap = pending_.begin()->first - streamed_;
  nbdkit::debug("streaming the unwritten %" PRIu64 " bytes at offset %" PRIu64 " as zeroes", gap,
                streamed_);
  int err = emit(nullptr, gap);
  if (err != 0) return err;
  return emit_contiguous_pending();
}

int StreamWriter::flush() {
  std::lock_guard lock(mutex_);
  if (broken_) return EIO;
  while (!pending_.empty()) {
    int err = emit_lowest_pending();
    if (err != 0) return err;
  }
  return 0;
}

int StreamWriter::read(void* buf, uint32_t count, uint64_t offset) {
  std::lock_guard lock(mutex_);
  if (broken_) return EIO;
  if (offset < highest_)
    return break_stream("the client read at offset %" PRIu64
                        ", below offset %" PRIu64
                        " which it has already written (a streaming export can only read back "
                        "zeroes beyond what was written)",
                        offset, highest_);
  std::memset(buf, 0, count);
  return 0;
}

// ---- StreamReader ----

StreamReader::StreamReader(std::unique_ptr<PipeEnd> pipe, uint64_t window)
    : pipe_(std::move(pipe)), window_(window) {}

bool StreamReader::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

int StreamReader::break_stream(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int err = mark_broken(broken_, fmt, args);
  va_end(args);
  return err;
}

int StreamReader::read(void* buf, uint32_t count, uint64_t offset) {
  std::lock_guard lock(mutex_);
  if (broken_) return EIO;
  char* out = static_cast<char*>(buf);
  const uint64_t end = offset + count;

  if (offset < consumed_) {
    const uint64_t held_end = std::min(end, consumed_);
    if (!copy_held(out, offset, held_end))
      return break_stream("the client read at offset %" PRIu64 ", but the stream has already "
                          "passed it (it is at offset %" PRIu64
                          ") and those bytes are no longer held (a streaming client must read "
                          "from the start towards the end)",
                          offset, consumed_);
    out += held_end - offset;
    offset = held_end;
  } else if (offset > consumed_) {
    int err = skip_to(offset);
    if (err != 0) return err;
  }
  if (offset == end) return 0;

  if (pipe_->read_exact(out, end - offset) != 0)
    return break_stream("could not read %" PRIu64 " bytes at offset %" PRIu64 " from %s",
                        end - offset, offset, pipe_->path().c_str());
  remember_head(out, end - offset, offset);
  consumed_ = end;
  return 0;
}

bool StreamReader::copy_held(char* out, uint64_t from, uint64_t to) const {
  while (from < to) {
    uint64_t n;
    if (from < head_.size()) {
      n = std::min<uint64_t>(to, head_.size()) - from;
      std::memcpy(out, head_.data() + from, n);
    } else {
      auto chunk = skipped_.upper_bound(from);
      if (chunk == skipped_.begin()) return false;
      --chunk;
      const uint64_t chunk_end = chunk->first + chunk->second.size();
      if (chunk_end <= from) return false;
      n = std::min(to, chunk_end) - from;
      std::memcpy(out, chunk->second.data() + (from - chunk->first), n);
    }
    out += n;
    from += n;
  }
  return true;
}

int StreamReader::skip_to(uint64_t offset) {
  std::vector<char> discard;
  while (consumed_ < offset) {
    const uint64_t n = std::min(offset - consumed_, skip_chunk);
    // Bytes further than the window below `offset` could never be held
    // until they are wanted: read them into a scratch buffer.
    const bool keep = offset - (consumed_ + n) < window_;
    std::vector<char> chunk;
    std::vector<char>& target = keep ? chunk : discard;
    target.resize(n);
    if (pipe_->read_exact(target.data(), n) != 0)
      return break_stream("could not read %" PRIu64 " bytes at offset %" PRIu64 " from %s", n,
                          consumed_, pipe_->path().c_str());
    remember_head(target.data(), n, consumed_);
    if (keep) {
      skipped_bytes_ += n;
      skipped_.emplace(consumed_, std::move(chunk));
    }
    consumed_ += n;
    while (skipped_bytes_ > window_) {
      skipped_bytes_ -= skipped_.begin()->second.size();
      skipped_.erase(skipped_.begin());
    }
  }
  return 0;
}

void StreamReader::remember_head(const char* data, uint64_t count, uint64_t offset) {
  if (offset >= head_size || offset != head_.size()) return;
  const uint64_t n = std::min(count, head_size - offset);
  head_.insert(head_.end(), data, data + n);
}

}  // namespace streaming
