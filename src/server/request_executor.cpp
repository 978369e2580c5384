#include "request_executor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

namespace nbdkit::server {

namespace {

// Emulated zeroing writes from here; never written to.
constexpr uint32_t kZeroChunk = 1u << 20;
unsigned char zero_chunk[kZeroChunk];

// Emulated cache reads go through scratch memory in pieces of this size.
constexpr uint32_t kCacheChunk = 1u << 20;

// A BLOCK_STATUS reply lists at most this many extents; the spec lets a
// reply cover less than was asked, and the client asks again.
constexpr size_t kMaxExtentsPerReply = 1u << 20;

int flush_after(const ExportHandling& h, uint16_t request_flags) {
  if ((request_flags & nbd::kCmdFlagFua) && h.fua == FuaSupport::emulate)
    return h.context->flush(0);
  return 0;
}

uint32_t native_fua(const ExportHandling& h, uint16_t request_flags) {
  return (request_flags & nbd::kCmdFlagFua) && h.fua == FuaSupport::native ? flags::fua : 0;
}

int write_zeroes_by_pwrite(const ExportHandling& h, uint32_t count, uint64_t offset,
                           uint32_t fua) {
  while (count > 0) {
    const uint32_t n = std::min(count, kZeroChunk);
    // FUA only matters on the last piece: it covers everything before it.
    if (int r = h.context->pwrite(zero_chunk, n, offset, n == count ? fua : 0)) return r;
    count -= n;
    offset += n;
  }
  return 0;
}

int write_zeroes(const ExportHandling& h, const nbd::Request& req) {
  const bool fast = req.flags & nbd::kCmdFlagFastZero;
  const uint32_t fua = native_fua(h, req.flags);
  if (!h.native_zero) {
    // Writing zeroes is never fast; the client asked us to fail instead.
    if (fast) return ENOTSUP;
    return write_zeroes_by_pwrite(h, req.count, req.offset, fua);
  }
  uint32_t zero_flags = fua;
  if (!(req.flags & nbd::kCmdFlagNoHole)) zero_flags |= flags::may_trim;
  if (fast) zero_flags |= flags::fast_zero;
  int r = h.context->zero(req.count, req.offset, zero_flags);
  if ((r == ENOTSUP || r == EOPNOTSUPP) && !fast)
    r = write_zeroes_by_pwrite(h, req.count, req.offset, fua);
  return r;
}

int cache(const ExportHandling& h, const nbd::Request& req, ByteBuffer& scratch) {
  if (h.cache == CacheSupport::native) return h.context->cache(req.count, req.offset, 0);
  scratch.reserve(std::min(req.count, kCacheChunk));
  uint32_t count = req.count;
  uint64_t offset = req.offset;
  while (count > 0) {
    const uint32_t n = std::min(count, kCacheChunk);
    if (int r = h.context->pread(scratch.data(), n, offset, 0)) return r;
    count -= n;
    offset += n;
  }
  return 0;
}

void append_simple(ByteBuffer& out, uint64_t cookie, uint32_t nbd_error) {
  const size_t at = out.append(nbd::kSimpleReplySize);
  nbd::encode_simple_reply(out.data() + at, cookie, nbd_error);
}

void append_read(const ExportHandling& h, const nbd::Request& req, ByteBuffer& out) {
  const size_t start = out.size();
  // The data goes straight from the plugin into the reply buffer.
  const size_t header = h.structured_replies ? nbd::kStructuredReplySize + 8 : nbd::kSimpleReplySize;
  out.append(header + req.count);
  const int r = h.context->pread(out.data() + start + header, req.count, req.offset, 0);
  if (r != 0) {
    debug("%s: pread failed: %s", nbd::command_name(req.type), std::strerror(r));
    out.truncate(start);
    append_error_reply(h.structured_replies, req, nbd::nbd_error_from_errno(r, req.flags), out);
    return;
  }
  unsigned char* p = out.data() + start;
  if (h.structured_replies) {
    nbd::encode_chunk_header(p, nbd::kReplyFlagDone, nbd::kReplyTypeOffsetData, req.cookie,
                             8 + req.count);
    nbd::put64(p + nbd::kStructuredReplySize, req.offset);
  } else {
    nbd::encode_simple_reply(p, req.cookie, 0);
  }
}

void append_block_status(const ExportHandling& h, const nbd::Request& req, ByteBuffer& out) {
  ExtentList list(req.offset, req.offset + req.count);
  if (h.extents) {
    const uint32_t f = (req.flags & nbd::kCmdFlagReqOne) ? flags::req_one : 0;
    int r = h.context->extents(req.count, req.offset, f, list);
    if (r == 0 && list.extents().empty()) {
      error("%s: the plugin returned no extents", nbd::command_name(req.type));
      r = EIO;
    }
    if (r != 0) {
      append_error_reply(true, req, nbd::nbd_error_from_errno(r, req.flags), out);
      return;
    }
  } else {
    list.add(req.offset, req.count, extent::data);
  }
  size_t n = list.extents().size();
  if (req.flags & nbd::kCmdFlagReqOne) n = 1;
  n = std::min(n, kMaxExtentsPerReply);
  const uint32_t length = uint32_t(4 + 8 * n);
  const size_t at = out.append(nbd::kStructuredReplySize + length);
  unsigned char* p = out.data() + at;
  p += nbd::encode_chunk_header(p, nbd::kReplyFlagDone, nbd::kReplyTypeBlockStatus, req.cookie,
                                length);
  nbd::put32(p, nbd::kBaseAllocationId);
  p += 4;
  for (size_t i = 0; i < n; ++i) {
    const Extent& e = list.extents()[i];
    nbd::put32(p, uint32_t(e.length));  // clipped to the request: fits
    nbd::put32(p + 4, e.type);
    p += 8;
  }
}

int run(const ExportHandling& h, const nbd::Request& req, const unsigned char* payload,
        ByteBuffer& scratch) {
  Context& c = *h.context;
  switch (req.type) {
    case nbd::kCmdWrite:
      if (int r = c.pwrite(payload, req.count, req.offset, native_fua(h, req.flags))) return r;
      return flush_after(h, req.flags);
    case nbd::kCmdFlush:
      return c.flush(0);
    case nbd::kCmdTrim:
      if (int r = c.trim(req.count, req.offset, native_fua(h, req.flags))) return r;
      return flush_after(h, req.flags);
    case nbd::kCmdCache:
      return cache(h, req, scratch);
    case nbd::kCmdWriteZeroes:
      if (int r = write_zeroes(h, req)) return r;
      return flush_after(h, req.flags);
    default:
      return EINVAL;
  }
}

}  // namespace

void append_error_reply(bool structured_replies, const nbd::Request& req, uint32_t nbd_error,
                        ByteBuffer& out) {
  const bool chunked =
      structured_replies && (req.type == nbd::kCmdRead || req.type == nbd::kCmdBlockStatus);
  if (!chunked) {
    append_simple(out, req.cookie, nbd_error);
    return;
  }
  // An error chunk without a message: error value, then a zero length.
  const size_t at = out.append(nbd::kStructuredReplySize + 6);
  unsigned char* p = out.data() + at;
  p += nbd::encode_chunk_header(p, nbd::kReplyFlagDone, nbd::kReplyTypeError, req.cookie, 6);
  nbd::put32(p, nbd_error);
  nbd::put16(p + 4, 0);
}

void execute_request(const ExportHandling& h, const nbd::Request& req,
                     const unsigned char* payload, ByteBuffer& out, ByteBuffer& scratch) {
  const size_t start = out.size();
  try {
    if (req.type == nbd::kCmdRead) {
      append_read(h, req, out);
    } else if (req.type == nbd::kCmdBlockStatus) {
      append_block_status(h, req, out);
    } else {
      const int r = run(h, req, payload, scratch);
      if (r != 0)
        debug("%s: request failed: %s", nbd::command_name(req.type), std::strerror(r));
      append_simple(out, req.cookie, nbd::nbd_error_from_errno(r, req.flags));
    }
  } catch (const std::exception& e) {
    // Data calls report errors by return value; an exception is a bug in a
    // layer, but it must not take the connection down.
    error("%s: unexpected exception: %s", nbd::command_name(req.type), e.what());
    out.truncate(start);
    append_error_reply(h.structured_replies, req, nbd::kEio, out);
  }
}

}  // namespace nbdkit::server
