// The NBD wire format (NetworkBlockDevice/nbd doc/proto.md): constants and
// big-endian encoding of fixed headers.  Nothing here knows about plugins,
// sockets or threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nbd {

// ---- Handshake ----
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943ull;       // "NBDMAGIC"
inline constexpr uint64_t kOptionMagic = 0x49484156454F5054ull;    // "IHAVEOPT"
inline constexpr uint64_t kOldstyleMagic = 0x0000420281861253ull;
inline constexpr uint64_t kOptionReplyMagic = 0x0003e889045565a9ull;

// Global (handshake) flags, server to client.
inline constexpr uint16_t kFlagFixedNewstyle = 1u << 0;
inline constexpr uint16_t kFlagNoZeroes = 1u << 1;
// Client flags.
inline constexpr uint32_t kClientFixedNewstyle = 1u << 0;
inline constexpr uint32_t kClientNoZeroes = 1u << 1;

// Transmission flags.
inline constexpr uint16_t kFlagHasFlags = 1u << 0;
inline constexpr uint16_t kFlagReadOnly = 1u << 1;
inline constexpr uint16_t kFlagSendFlush = 1u << 2;
inline constexpr uint16_t kFlagSendFua = 1u << 3;
inline constexpr uint16_t kFlagRotational = 1u << 4;
inline constexpr uint16_t kFlagSendTrim = 1u << 5;
inline constexpr uint16_t kFlagSendWriteZeroes = 1u << 6;
inline constexpr uint16_t kFlagSendDf = 1u << 7;
inline constexpr uint16_t kFlagCanMultiConn = 1u << 8;
inline constexpr uint16_t kFlagSendResize = 1u << 9;
inline constexpr uint16_t kFlagSendCache = 1u << 10;
inline constexpr uint16_t kFlagSendFastZero = 1u << 11;
inline constexpr uint16_t kFlagBlockStatusPayload = 1u << 12;

// Options.
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptPeekExport = 4;
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;
inline constexpr uint32_t kOptExtendedHeaders = 11;

// Option replies.
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;
inline constexpr uint32_t kRepInfo = 3;
inline constexpr uint32_t kRepMetaContext = 4;
inline constexpr uint32_t kRepFlagError = 1u << 31;
inline constexpr uint32_t kRepErrUnsup = kRepFlagError | 1;
inline constexpr uint32_t kRepErrPolicy = kRepFlagError | 2;
inline constexpr uint32_t kRepErrInvalid = kRepFlagError | 3;
inline constexpr uint32_t kRepErrPlatform = kRepFlagError | 4;
inline constexpr uint32_t kRepErrTlsReqd = kRepFlagError | 5;
inline constexpr uint32_t kRepErrUnknown = kRepFlagError | 6;
inline constexpr uint32_t kRepErrShutdown = kRepFlagError | 7;
inline constexpr uint32_t kRepErrBlockSizeReqd = kRepFlagError | 8;
inline constexpr uint32_t kRepErrTooBig = kRepFlagError | 9;
inline constexpr uint32_t kRepErrExtHeaderReqd = kRepFlagError | 10;

// NBD_INFO_* in NBD_REP_INFO replies.
inline constexpr uint16_t kInfoExport = 0;
inline constexpr uint16_t kInfoName = 1;
inline constexpr uint16_t kInfoDescription = 2;
inline constexpr uint16_t kInfoBlockSize = 3;

// ---- Transmission ----
inline constexpr uint32_t kRequestMagic = 0x25609513;
inline constexpr uint32_t kExtendedRequestMagic = 0x21e41c71;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698;
inline constexpr uint32_t kStructuredReplyMagic = 0x668e33ef;
inline constexpr uint32_t kExtendedReplyMagic = 0x6e8a278c;

inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;
inline constexpr uint16_t kCmdWriteZeroes = 6;
inline constexpr uint16_t kCmdBlockStatus = 7;
inline constexpr uint16_t kCmdResize = 8;

inline constexpr uint16_t kCmdFlagFua = 1u << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1u << 1;
inline constexpr uint16_t kCmdFlagDf = 1u << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1u << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1u << 4;
inline constexpr uint16_t kCmdFlagPayloadLen = 1u << 5;

inline constexpr uint16_t kReplyFlagDone = 1u << 0;
inline constexpr uint16_t kReplyTypeNone = 0;
inline constexpr uint16_t kReplyTypeOffsetData = 1;
inline constexpr uint16_t kReplyTypeOffsetHole = 2;
inline constexpr uint16_t kReplyTypeBlockStatus = 5;
inline constexpr uint16_t kReplyTypeBlockStatusExt = 6;
inline constexpr uint16_t kReplyTypeError = (1u << 15) | 1;
inline constexpr uint16_t kReplyTypeErrorOffset = (1u << 15) | 2;

// NBD error values (not the host's errno numbering).
inline constexpr uint32_t kEperm = 1;
inline constexpr uint32_t kEio = 5;
inline constexpr uint32_t kEnomem = 12;
inline constexpr uint32_t kEinval = 22;
inline constexpr uint32_t kEnospc = 28;
inline constexpr uint32_t kEoverflow = 75;
inline constexpr uint32_t kEnotsup = 95;
inline constexpr uint32_t kEshutdown = 108;

inline constexpr size_t kRequestSize = 28;
inline constexpr size_t kExtendedRequestSize = 32;
inline constexpr size_t kSimpleReplySize = 16;
inline constexpr size_t kStructuredReplySize = 20;
inline constexpr size_t kExtendedReplySize = 32;

// ---- Big-endian helpers ----
inline void put16(unsigned char* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v;
}
inline void put32(unsigned char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void put64(unsigned char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t get16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t get64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

}  // namespace nbd
