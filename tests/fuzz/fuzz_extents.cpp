// Block status: whatever extents a layer reports for whatever request,
// the encoded structured reply must be well formed and stay within the
// request (the two 2025 nbdkit CVEs were an off-by-one and a 32-bit wrap
// here).  The input is the request (flags, offset, count) then the
// extents the layer reports, as (offset delta, length, type) triples.
#include <cstdlib>
#include <cstring>

#include <nbdkit/plugin.hpp>

#include "request_executor.hpp"

namespace {

using nbdkit::server::ByteBuffer;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T take() {
    T value{};
    const size_t n = std::min(sizeof value, size_ - used_);
    std::memcpy(&value, data_ + used_, n);
    used_ += n;
    return value;
  }
  bool empty() const { return used_ == size_; }

 private:
  const uint8_t* data_;
  size_t size_, used_ = 0;
};

// A layer that reports the extents the input dictates.
class ScriptedContext : public nbdkit::Context {
 public:
  explicit ScriptedContext(Input& input) : input_(input) {}
  uint64_t get_size() override { return UINT64_MAX; }
  int pread(void*, uint32_t, uint64_t, uint32_t) override { return 0; }
  int extents(uint32_t, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    uint64_t at = offset - input_.take<uint8_t>();
    while (!input_.empty()) {
      const uint64_t length = input_.take<uint64_t>() >> input_.take<uint8_t>() % 64;
      const uint32_t type = input_.take<uint8_t>() % 4;
      if (out.add(at, length, type) != 0) return EINVAL;
      at += length;
    }
    return 0;
  }

 private:
  Input& input_;
};

void check(bool condition) {
  if (!condition) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input input(data, size);
  nbd::Request request{};
  request.type = nbd::kCmdBlockStatus;
  request.flags = input.take<uint8_t>() & 1 ? nbd::kCmdFlagReqOne : 0;
  request.offset = input.take<uint64_t>() >> 1;
  request.count = input.take<uint32_t>() | 1;
  request.cookie = 42;

  ScriptedContext context(input);
  nbdkit::server::ExportHandling handling;
  handling.context = &context;
  handling.structured_replies = true;
  handling.extents = true;
  ByteBuffer reply, scratch;
  nbdkit::server::execute_request(handling, request, nullptr, reply, scratch);

  // One chunk, flagged done, whose length matches what follows.
  const unsigned char* p = reply.data();
  check(reply.size() >= nbd::kStructuredReplySize);
  check(nbd::get32(p) == nbd::kStructuredReplyMagic && nbd::get64(p + 8) == 42);
  check(nbd::get16(p + 4) == nbd::kReplyFlagDone);
  const uint32_t length = nbd::get32(p + 16);
  check(reply.size() == nbd::kStructuredReplySize + length);
  if (nbd::get16(p + 6) == nbd::kReplyTypeError) return 0;
  check(nbd::get16(p + 6) == nbd::kReplyTypeBlockStatus);
  check(length >= 12 && (length - 4) % 8 == 0);
  // Extents: each non-empty, together no longer than the request.
  uint64_t total = 0;
  for (uint32_t at = nbd::kStructuredReplySize + 4; at < reply.size(); at += 8) {
    const uint32_t extent_length = nbd::get32(p + at);
    check(extent_length > 0);
    total += extent_length;
  }
  check(total <= request.count);
  if (request.flags & nbd::kCmdFlagReqOne) check(length == 12);
  return 0;
}
