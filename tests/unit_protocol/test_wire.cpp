#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "wire.hpp"

using namespace nbd;

namespace {

std::vector<unsigned char> bytes(std::initializer_list<int> values) {
  return std::vector<unsigned char>(values.begin(), values.end());
}

void append_u32(std::vector<unsigned char>& v, uint32_t x) {
  unsigned char b[4];
  put32(b, x);
  v.insert(v.end(), b, b + 4);
}

void append_string(std::vector<unsigned char>& v, const std::string& s) {
  append_u32(v, uint32_t(s.size()));
  v.insert(v.end(), s.begin(), s.end());
}

ExportState writable_export(uint64_t size = 1 << 20) {
  ExportCapabilities caps;
  caps.writable = caps.can_flush = caps.can_fua = caps.can_trim = caps.can_cache = true;
  return {size, transmission_flags(caps), false, false};
}

Request req(uint16_t type, uint64_t offset, uint32_t count, uint16_t flags = 0) {
  return Request{flags, type, 1, offset, count};
}

}  // namespace

TEST(Request, DecodesAllFields) {
  auto h = bytes({0x25, 0x60, 0x95, 0x13, 0x00, 0x01, 0x00, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,
                  0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0x02, 0x00});
  Request r;
  ASSERT_TRUE(decode_request(h.data(), r));
  EXPECT_EQ(r.flags, kCmdFlagFua);
  EXPECT_EQ(r.type, kCmdWriteZeroes);
  EXPECT_EQ(r.cookie, 0x0102030405060708ull);
  EXPECT_EQ(r.offset, 0x1000u);
  EXPECT_EQ(r.count, 0x200u);
}

TEST(Request, RejectsBadMagic) {
  std::vector<unsigned char> h(kRequestSize, 0);
  Request r;
  EXPECT_FALSE(decode_request(h.data(), r));
}

TEST(Reply, SimpleReplyBytes) {
  unsigned char out[kSimpleReplySize];
  ASSERT_EQ(encode_simple_reply(out, 0x1122334455667788ull, kEperm), kSimpleReplySize);
  EXPECT_EQ(std::vector<unsigned char>(out, out + 16),
            bytes({0x67, 0x44, 0x66, 0x98, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                   0x88}));
}

TEST(Reply, ChunkHeaderBytes) {
  unsigned char out[kStructuredReplySize];
  ASSERT_EQ(encode_chunk_header(out, kReplyFlagDone, kReplyTypeOffsetData, 9, 4104),
            kStructuredReplySize);
  EXPECT_EQ(std::vector<unsigned char>(out, out + 20),
            bytes({0x66, 0x8e, 0x33, 0xef, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0x10, 0x08}));
}

TEST(Option, HeaderRoundTrip) {
  auto h = bytes({0x49, 0x48, 0x41, 0x56, 0x45, 0x4F, 0x50, 0x54, 0, 0, 0, 7, 0, 0, 1, 0});
  OptionHeader o = decode_option_header(h.data());
  EXPECT_EQ(o.magic, kOptionMagic);
  EXPECT_EQ(o.option, kOptGo);
  EXPECT_EQ(o.length, 256u);

  unsigned char out[kOptionReplyHeaderSize];
  encode_option_reply_header(out, kOptGo, kRepErrUnsup, 5);
  EXPECT_EQ(get64(out), kOptionReplyMagic);
  EXPECT_EQ(get32(out + 8), kOptGo);
  EXPECT_EQ(get32(out + 12), kRepErrUnsup);
  EXPECT_EQ(get32(out + 16), 5u);
}

TEST(Option, InfoRequest) {
  std::vector<unsigned char> p;
  append_string(p, "disk");
  p.insert(p.end(), {0, 2, 0, 1, 0, 3});
  auto r = parse_info_request(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->export_name, "disk");
  EXPECT_EQ(r->requests, (std::vector<uint16_t>{kInfoName, kInfoBlockSize}));

  p.push_back(0);  // trailing garbage
  EXPECT_FALSE(parse_info_request(p));
  EXPECT_FALSE(parse_info_request(bytes({0, 0, 0, 9, 'a', 0, 0})));  // name runs past end
  EXPECT_FALSE(parse_info_request(bytes({0, 0, 0, 0, 0, 2, 0, 1})));  // missing request
  EXPECT_FALSE(parse_info_request(bytes({0, 0})));
}

TEST(Option, MetaContextRequest) {
  std::vector<unsigned char> p;
  append_string(p, "");
  append_u32(p, 2);
  append_string(p, "base:allocation");
  append_string(p, "qemu:dirty-bitmap:x");
  auto r = parse_meta_context_request(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->export_name, "");
  ASSERT_EQ(r->queries.size(), 2u);
  EXPECT_EQ(r->queries[0], "base:allocation");

  std::vector<unsigned char> huge_count;
  append_string(huge_count, "");
  append_u32(huge_count, 0xffffffff);
  EXPECT_FALSE(parse_meta_context_request(huge_count));
  p.pop_back();
  EXPECT_FALSE(parse_meta_context_request(p));
}

TEST(Option, MetaQueries) {
  EXPECT_TRUE(meta_query_matches_base_allocation("base:allocation", false));
  EXPECT_TRUE(meta_query_matches_base_allocation("base:", true));
  EXPECT_FALSE(meta_query_matches_base_allocation("base:", false));
  EXPECT_FALSE(meta_query_matches_base_allocation("base:alloc", true));
}

TEST(Option, ExportNames) {
  EXPECT_TRUE(valid_export_name(""));
  EXPECT_FALSE(valid_export_name(std::string("a\0b", 3)));
  EXPECT_TRUE(valid_export_name(std::string(kMaxStringSize, 'x')));
  EXPECT_FALSE(valid_export_name(std::string(kMaxStringSize + 1, 'x')));
}

TEST(TransmissionFlags, ReadOnlyHidesWriteFeatures) {
  ExportCapabilities caps;
  caps.can_fua = caps.can_trim = caps.can_fast_zero = caps.can_flush = true;
  EXPECT_EQ(transmission_flags(caps), kFlagHasFlags | kFlagReadOnly | kFlagSendFlush);
}

TEST(TransmissionFlags, MemoryLikeExport) {
  ExportCapabilities caps;
  caps.writable = caps.can_flush = caps.can_fua = caps.can_trim = caps.can_fast_zero = true;
  caps.can_multi_conn = caps.can_cache = true;
  // What nbdkit's memory plugin advertises, before and after structured replies.
  EXPECT_EQ(transmission_flags(caps), 0x0d6d);
  caps.structured_replies = true;
  EXPECT_EQ(transmission_flags(caps), 0x0ded);
}

TEST(TransmissionFlags, HiddenWriteZeroesHidesFastZero) {
  ExportCapabilities caps;
  caps.writable = caps.can_fast_zero = true;
  caps.can_write_zeroes = false;  // nozero filter, zeromode=none
  const uint16_t flags = transmission_flags(caps);
  EXPECT_EQ(flags & (kFlagSendWriteZeroes | kFlagSendFastZero), 0);
  const ExportState e{1 << 20, flags, false, false};
  EXPECT_EQ(check_request(Request{0, kCmdWriteZeroes, 1, 0, 512}, e).nbd_error, kEinval);
}

TEST(CheckRequest, RangeErrors) {
  const ExportState e = writable_export(4096);
  EXPECT_EQ(check_request(req(kCmdRead, 0, 4096), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdRead, 1, 4096), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdRead, 0, 0), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdRead, ~0ull, 2), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdWrite, 4095, 2), e).nbd_error, kEnospc);
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 4096, 1), e).nbd_error, kEnospc);
  EXPECT_EQ(check_request(req(kCmdTrim, 4096, 1), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdFlush, 0, 1), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdFlush, 0, 0), e).nbd_error, 0u);
}

TEST(CheckRequest, SizeAndCommand) {
  const ExportState e = writable_export(1ull << 40);
  EXPECT_EQ(check_request(req(kCmdRead, 0, kMaxDataSize), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdRead, 0, kMaxDataSize + 1), e).nbd_error, kEoverflow);
  EXPECT_EQ(check_request(req(kCmdWrite, 0, kMaxDataSize + 1), e).nbd_error, kEoverflow);
  // Only data requests are limited to 64 MiB.
  EXPECT_EQ(check_request(req(kCmdTrim, 0, 0xffffffff), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdResize, 0, 1), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(42, 0, 1), e).nbd_error, kEinval);
}

TEST(CheckRequest, Flags) {
  ExportState e = writable_export();
  EXPECT_EQ(check_request(req(kCmdRead, 0, 1, 0x100), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdWrite, 0, 1, kCmdFlagFua), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdRead, 0, 1, kCmdFlagNoHole), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 0, 1, kCmdFlagNoHole), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdRead, 0, 1, kCmdFlagDf), e).nbd_error, kEinval);
  e.structured_replies = true;
  EXPECT_EQ(check_request(req(kCmdRead, 0, 1, kCmdFlagDf), e).nbd_error, 0u);
  EXPECT_EQ(check_request(req(kCmdWrite, 0, 1, kCmdFlagDf), e).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdRead, 0, 1, kCmdFlagReqOne), e).nbd_error, kEinval);
  // Fast zero was not advertised for this export.
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 0, 1, kCmdFlagFastZero), e).nbd_error, kEinval);
}

TEST(CheckRequest, Capabilities) {
  ExportState ro{1 << 20, transmission_flags({}), true, true};
  EXPECT_EQ(check_request(req(kCmdWrite, 0, 1), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdTrim, 0, 1), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 0, 1), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdFlush, 0, 0), ro).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdCache, 0, 1), ro).nbd_error, kEinval);
  EXPECT_EQ(check_request(req(kCmdBlockStatus, 0, 1, kCmdFlagReqOne), ro).nbd_error, 0u);
  ro.base_allocation = false;
  EXPECT_EQ(check_request(req(kCmdBlockStatus, 0, 1), ro).nbd_error, kEinval);
}

// Issue 16: flags the read-only export does not offer must not turn the
// answer to a write into EINVAL.
TEST(CheckRequest, ReadOnlyIsEpermWhateverTheFlags) {
  const ExportState ro{1 << 20, transmission_flags({}), true, true};
  EXPECT_EQ(check_request(req(kCmdWrite, 0, 1, kCmdFlagFua), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdTrim, 0, 1, kCmdFlagFua), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 0, 1, kCmdFlagFastZero), ro).nbd_error, kEperm);
  EXPECT_EQ(check_request(req(kCmdWriteZeroes, 0, 1, kCmdFlagFastZero | kCmdFlagFua), ro)
                .nbd_error,
            kEperm);
  EXPECT_EQ(check_request(req(kCmdWrite, 1 << 20, 1), ro).nbd_error, kEperm);
}

TEST(OptionLimits, EachOptionGetsWhatItNeeds) {
  EXPECT_EQ(max_option_payload(kOptExportName), kMaxStringSize);
  // A name of the longest length with its length field, the count and
  // kMaxInfoRequests requests.
  EXPECT_EQ(max_option_payload(kOptGo), 4 + kMaxStringSize + 2 + 2 * kMaxInfoRequests);
  EXPECT_EQ(max_option_payload(kOptInfo), max_option_payload(kOptGo));
  EXPECT_EQ(max_option_payload(kOptSetMetaContext),
            4 + kMaxStringSize + 4 + kMaxMetaQueries * (4 + kMaxStringSize));
  for (uint32_t option : {kOptAbort, kOptList, kOptStartTls, kOptStructuredReply, 1000u})
    EXPECT_EQ(max_option_payload(option), kMaxStringSize) << option;
}

TEST(MetaContext, QueriesWithNulAreInvalid) {
  EXPECT_TRUE(valid_meta_query("base:allocation"));
  EXPECT_FALSE(valid_meta_query(std::string_view("base:allocation\0", 16)));
  EXPECT_FALSE(valid_meta_query(std::string_view("\0", 1)));
  EXPECT_FALSE(valid_meta_query(std::string(kMaxStringSize + 1, 'q')));
}

TEST(ErrnoMapping, AsNbdkit) {
  EXPECT_EQ(nbd_error_from_errno(0, 0), 0u);
  EXPECT_EQ(nbd_error_from_errno(EROFS, 0), kEperm);
  EXPECT_EQ(nbd_error_from_errno(EPERM, 0), kEperm);
  EXPECT_EQ(nbd_error_from_errno(EIO, 0), kEio);
  EXPECT_EQ(nbd_error_from_errno(ENOMEM, 0), kEnomem);
  EXPECT_EQ(nbd_error_from_errno(EDQUOT, 0), kEnospc);
  EXPECT_EQ(nbd_error_from_errno(EFBIG, 0), kEnospc);
  EXPECT_EQ(nbd_error_from_errno(ENOSPC, 0), kEnospc);
  EXPECT_EQ(nbd_error_from_errno(ESHUTDOWN, 0), kEshutdown);
  EXPECT_EQ(nbd_error_from_errno(ENOTSUP, 0), kEinval);
  EXPECT_EQ(nbd_error_from_errno(EOPNOTSUPP, kCmdFlagFastZero), kEnotsup);
  EXPECT_EQ(nbd_error_from_errno(EOVERFLOW, 0), kEinval);
  EXPECT_EQ(nbd_error_from_errno(EOVERFLOW, kCmdFlagDf), kEoverflow);
  EXPECT_EQ(nbd_error_from_errno(ENOENT, 0), kEinval);
}
