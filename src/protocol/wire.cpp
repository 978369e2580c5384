#include "wire.hpp"

#include <cerrno>

namespace nbd {

bool decode_request(const unsigned char* header, Request& out) {
  if (get32(header) != kRequestMagic) return false;
  out.flags = get16(header + 4);
  out.type = get16(header + 6);
  out.cookie = get64(header + 8);
  out.offset = get64(header + 16);
  out.count = get32(header + 24);
  return true;
}

size_t encode_simple_reply(unsigned char* out, uint64_t cookie, uint32_t nbd_error) {
  put32(out, kSimpleReplyMagic);
  put32(out + 4, nbd_error);
  put64(out + 8, cookie);
  return kSimpleReplySize;
}

size_t encode_chunk_header(unsigned char* out, uint16_t flags, uint16_t type, uint64_t cookie,
                           uint32_t length) {
  put32(out, kStructuredReplyMagic);
  put16(out + 4, flags);
  put16(out + 6, type);
  put64(out + 8, cookie);
  put32(out + 16, length);
  return kStructuredReplySize;
}

OptionHeader decode_option_header(const unsigned char* header) {
  return OptionHeader{get64(header), get32(header + 8), get32(header + 12)};
}

size_t encode_option_reply_header(unsigned char* out, uint32_t option, uint32_t reply_type,
                                  uint32_t length) {
  put64(out, kOptionReplyMagic);
  put32(out + 8, option);
  put32(out + 12, reply_type);
  put32(out + 16, length);
  return kOptionReplyHeaderSize;
}

uint32_t max_option_payload(uint32_t option) {
  constexpr uint32_t kName = 4 + kMaxStringSize;  // length + string
  switch (option) {
    case kOptExportName:
      return kMaxStringSize;
    case kOptInfo:
    case kOptGo:
      return kName + 2 + 2 * kMaxInfoRequests;
    case kOptListMetaContext:
    case kOptSetMetaContext:
      return kName + 4 + kMaxMetaQueries * kName;
    default:
      return kMaxStringSize;
  }
}

namespace {

// Reads length-prefixed fields out of an option payload, refusing to run
// past its end.
class PayloadReader {
 public:
  explicit PayloadReader(std::span<const unsigned char> payload) : rest_(payload) {}

  bool u16(uint16_t& value) {
    if (rest_.size() < 2) return false;
    value = get16(rest_.data());
    rest_ = rest_.subspan(2);
    return true;
  }
  bool u32(uint32_t& value) {
    if (rest_.size() < 4) return false;
    value = get32(rest_.data());
    rest_ = rest_.subspan(4);
    return true;
  }
  bool string(uint32_t length, std::string_view& value) {
    if (rest_.size() < length) return false;
    value = std::string_view(reinterpret_cast<const char*>(rest_.data()), length);
    rest_ = rest_.subspan(length);
    return true;
  }
  bool at_end() const { return rest_.empty(); }

 private:
  std::span<const unsigned char> rest_;
};

}  // namespace

std::optional<InfoRequest> parse_info_request(std::span<const unsigned char> payload) {
  PayloadReader reader(payload);
  InfoRequest request;
  uint32_t name_length;
  uint16_t count;
  if (!reader.u32(name_length) || !reader.string(name_length, request.export_name) ||
      !reader.u16(count))
    return std::nullopt;
  request.requests.reserve(count);
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t info;
    if (!reader.u16(info)) return std::nullopt;
    request.requests.push_back(info);
  }
  if (!reader.at_end()) return std::nullopt;
  return request;
}

std::optional<MetaContextRequest> parse_meta_context_request(
    std::span<const unsigned char> payload) {
  PayloadReader reader(payload);
  MetaContextRequest request;
  uint32_t name_length, count;
  if (!reader.u32(name_length) || !reader.string(name_length, request.export_name) ||
      !reader.u32(count))
    return std::nullopt;
  // Each query needs at least its 4-byte length: bound the reservation by
  // what the payload can hold, not by what the client claims.
  if (count > payload.size() / 4) return std::nullopt;
  request.queries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t length;
    std::string_view query;
    if (!reader.u32(length) || !reader.string(length, query)) return std::nullopt;
    request.queries.push_back(query);
  }
  if (!reader.at_end()) return std::nullopt;
  return request;
}

bool meta_query_matches_base_allocation(std::string_view query, bool listing) {
  if (query == kBaseAllocation) return true;
  return listing && query == "base:";
}

bool valid_export_name(std::string_view name) {
  return name.size() <= kMaxStringSize && name.find('\0') == std::string_view::npos;
}

uint16_t transmission_flags(const ExportCapabilities& caps) {
  uint16_t flags = kFlagHasFlags;
  if (!caps.writable) flags |= kFlagReadOnly;
  if (caps.can_flush) flags |= kFlagSendFlush;
  if (caps.rotational) flags |= kFlagRotational;
  if (caps.can_multi_conn) flags |= kFlagCanMultiConn;
  if (caps.can_cache) flags |= kFlagSendCache;
  if (caps.structured_replies) flags |= kFlagSendDf;
  if (caps.writable) {
    if (caps.can_fua) flags |= kFlagSendFua;
    if (caps.can_trim) flags |= kFlagSendTrim;
    if (caps.can_write_zeroes) {
      flags |= kFlagSendWriteZeroes;
      if (caps.can_fast_zero) flags |= kFlagSendFastZero;
    }
  }
  return flags;
}

namespace {

constexpr uint16_t kKnownFlags =
    kCmdFlagFua | kCmdFlagNoHole | kCmdFlagDf | kCmdFlagReqOne | kCmdFlagFastZero;

bool has_range(uint16_t type) {
  switch (type) {
    case kCmdRead:
    case kCmdWrite:
    case kCmdTrim:
    case kCmdCache:
    case kCmdWriteZeroes:
    case kCmdBlockStatus:
      return true;
    default:
      return false;
  }
}

}  // namespace

RequestCheck check_request(const Request& request, const ExportState& state) {
  const uint16_t type = request.type;
  const uint16_t flags = request.flags;
  const uint16_t eflags = state.eflags;

  if (type > kCmdBlockStatus) return {kEinval, "unknown command"};
  if ((type == kCmdRead || type == kCmdWrite) && request.count > kMaxDataSize)
    return {kEoverflow, "data request is too large (more than 64 MiB)"};

  // Whatever its flags and range, a write to a read-only export is refused
  // as such (EPERM), not as a request with a flag the export lacks.
  const bool writes = type == kCmdWrite || type == kCmdTrim || type == kCmdWriteZeroes;
  if (writes && (eflags & kFlagReadOnly)) return {kEperm, "write request on a read-only export"};

  if (flags & ~kKnownFlags) return {kEinval, "unknown flag"};
  if ((flags & kCmdFlagFua) && !(eflags & kFlagSendFua))
    return {kEinval, "FUA flag not supported by this export"};
  if ((flags & kCmdFlagNoHole) && type != kCmdWriteZeroes)
    return {kEinval, "NO_HOLE flag needs WRITE_ZEROES request"};
  if (flags & kCmdFlagFastZero) {
    if (type != kCmdWriteZeroes) return {kEinval, "FAST_ZERO flag needs WRITE_ZEROES request"};
    if (!(eflags & kFlagSendFastZero))
      return {kEinval, "FAST_ZERO flag not supported by this export"};
  }
  if (flags & kCmdFlagDf) {
    if (type != kCmdRead) return {kEinval, "DF flag needs READ request"};
    if (!state.structured_replies) return {kEinval, "DF flag needs structured replies"};
  }
  if ((flags & kCmdFlagReqOne) && type != kCmdBlockStatus)
    return {kEinval, "REQ_ONE flag needs BLOCK_STATUS request"};

  if (has_range(type)) {
    if (request.count == 0 || request.offset > state.size ||
        request.count > state.size - request.offset) {
      const bool grows = type == kCmdWrite || type == kCmdWriteZeroes;
      return {grows ? kEnospc : kEinval, "offset and count are out of range"};
    }
  } else if (type == kCmdFlush && (request.offset != 0 || request.count != 0)) {
    return {kEinval, "expecting offset and count = 0"};
  }

  switch (type) {
    case kCmdWrite:
    case kCmdTrim:
    case kCmdWriteZeroes:
      if (type == kCmdTrim && !(eflags & kFlagSendTrim))
        return {kEinval, "trim not supported by this export"};
      if (type == kCmdWriteZeroes && !(eflags & kFlagSendWriteZeroes))
        return {kEinval, "write zeroes not supported by this export"};
      break;
    case kCmdFlush:
      if (!(eflags & kFlagSendFlush)) return {kEinval, "flush not supported by this export"};
      break;
    case kCmdCache:
      if (!(eflags & kFlagSendCache)) return {kEinval, "cache not supported by this export"};
      break;
    case kCmdBlockStatus:
      if (!state.structured_replies) return {kEinval, "structured replies were not negotiated"};
      if (!state.base_allocation) return {kEinval, "base:allocation was not negotiated"};
      break;
    default:
      break;
  }
  return {0, nullptr};
}

uint32_t nbd_error_from_errno(int err, uint16_t request_flags) {
  switch (err) {
    case 0:
      return 0;
    case EROFS:
    case EPERM:
      return kEperm;
    case EIO:
      return kEio;
    case ENOMEM:
      return kEnomem;
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
    case ENOSPC:
      return kEnospc;
    case ESHUTDOWN:
      return kEshutdown;
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
    case ENOTSUP:
      return (request_flags & kCmdFlagFastZero) ? kEnotsup : kEinval;
    case EOVERFLOW:
      return (request_flags & kCmdFlagDf) ? kEoverflow : kEinval;
    default:
      return kEinval;
  }
}

const char* command_name(uint16_t type) {
  switch (type) {
    case kCmdRead: return "NBD_CMD_READ";
    case kCmdWrite: return "NBD_CMD_WRITE";
    case kCmdDisc: return "NBD_CMD_DISC";
    case kCmdFlush: return "NBD_CMD_FLUSH";
    case kCmdTrim: return "NBD_CMD_TRIM";
    case kCmdCache: return "NBD_CMD_CACHE";
    case kCmdWriteZeroes: return "NBD_CMD_WRITE_ZEROES";
    case kCmdBlockStatus: return "NBD_CMD_BLOCK_STATUS";
    case kCmdResize: return "NBD_CMD_RESIZE";
    default: return "unknown command";
  }
}

const char* option_name(uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptPeekExport: return "NBD_OPT_PEEK_EXPORT";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
    case kOptExtendedHeaders: return "NBD_OPT_EXTENDED_HEADERS";
    default: return "unknown option";
  }
}

const char* option_reply_name(uint32_t reply_type) {
  switch (reply_type) {
    case kRepAck: return "NBD_REP_ACK";
    case kRepServer: return "NBD_REP_SERVER";
    case kRepInfo: return "NBD_REP_INFO";
    case kRepMetaContext: return "NBD_REP_META_CONTEXT";
    case kRepErrUnsup: return "NBD_REP_ERR_UNSUP";
    case kRepErrPolicy: return "NBD_REP_ERR_POLICY";
    case kRepErrInvalid: return "NBD_REP_ERR_INVALID";
    case kRepErrPlatform: return "NBD_REP_ERR_PLATFORM";
    case kRepErrTlsReqd: return "NBD_REP_ERR_TLS_REQD";
    case kRepErrUnknown: return "NBD_REP_ERR_UNKNOWN";
    case kRepErrShutdown: return "NBD_REP_ERR_SHUTDOWN";
    case kRepErrBlockSizeReqd: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
    case kRepErrTooBig: return "NBD_REP_ERR_TOO_BIG";
    case kRepErrExtHeaderReqd: return "NBD_REP_ERR_EXT_HEADER_REQD";
    default: return "unknown reply";
  }
}

}  // namespace nbd
