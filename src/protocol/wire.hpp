// Encoding and decoding of NBD messages, and the protocol rules that do not
// depend on sockets or plugins: which requests are valid for an export,
// which transmission flags an export advertises, how errno values travel.
// Kept free of I/O so that it can be unit tested byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "nbd.hpp"

namespace nbd {

// Largest READ/WRITE payload we accept (as nbdkit does).
inline constexpr uint32_t kMaxDataSize = 64u << 20;
// Longest export name or meta-context query we accept.
inline constexpr size_t kMaxStringSize = 4096;
// NBD_INFO_* requests in one NBD_OPT_INFO/GO, and queries in one meta
// context option, that we accept: far more than any client sends.
inline constexpr uint32_t kMaxInfoRequests = 1024;
inline constexpr uint32_t kMaxMetaQueries = 16;
// Options a client may send before it must choose an export.
inline constexpr int kMaxOptions = 32;
// The context id we give base:allocation (nbdkit's choice too).
inline constexpr uint32_t kBaseAllocationId = 1;
inline constexpr std::string_view kBaseAllocation = "base:allocation";

struct Request {
  uint16_t flags;
  uint16_t type;
  uint64_t cookie;
  uint64_t offset;
  uint32_t count;
};

// Decodes a kRequestSize-byte request header; false when the magic is wrong.
bool decode_request(const unsigned char* header, Request& out);

// Returns the number of bytes written (kSimpleReplySize).
size_t encode_simple_reply(unsigned char* out, uint64_t cookie, uint32_t nbd_error);
// A structured reply chunk header; `length` counts the bytes following it.
size_t encode_chunk_header(unsigned char* out, uint16_t flags, uint16_t type, uint64_t cookie,
                           uint32_t length);

// Option request header: magic, option, length (16 bytes).
inline constexpr size_t kOptionHeaderSize = 16;
struct OptionHeader {
  uint64_t magic;
  uint32_t option;
  uint32_t length;
};
OptionHeader decode_option_header(const unsigned char* header);
// Option reply header: magic, option, reply type, length (20 bytes).
inline constexpr size_t kOptionReplyHeaderSize = 20;
size_t encode_option_reply_header(unsigned char* out, uint32_t option, uint32_t reply_type,
                                  uint32_t length);

// The longest payload an option may carry: what its fields can need at
// most under the limits above (options without data, and unknown ones, get
// kMaxStringSize so that a small stray payload is answered, not fatal).
// A longer payload is refused with NBD_REP_ERR_TOO_BIG before it is read.
uint32_t max_option_payload(uint32_t option);

// NBD_OPT_INFO / NBD_OPT_GO payload.
struct InfoRequest {
  std::string_view export_name;
  std::vector<uint16_t> requests;  // NBD_INFO_* values
};
// nullopt when the payload's lengths are inconsistent.
std::optional<InfoRequest> parse_info_request(std::span<const unsigned char> payload);

// NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT payload.
struct MetaContextRequest {
  std::string_view export_name;
  std::vector<std::string_view> queries;
};
std::optional<MetaContextRequest> parse_meta_context_request(
    std::span<const unsigned char> payload);

// What a LIST_META_CONTEXT query matches among the contexts we serve
// (only base:allocation): an empty query list or "base:" lists it, an exact
// name selects it.  SET accepts only exact names.
bool meta_query_matches_base_allocation(std::string_view query, bool listing);

// True for a string we accept as an export name or meta-context query:
// not too long, no NUL (the spec forbids NUL in both).
bool valid_export_name(std::string_view name);
inline bool valid_meta_query(std::string_view query) { return valid_export_name(query); }

// What an export can do, as decided when the client picks it.
struct ExportCapabilities {
  bool writable = false;
  bool can_flush = false;
  bool can_fua = false;  // natively or by emulation
  bool rotational = false;
  bool can_trim = false;
  bool can_write_zeroes = true;  // when writable
  bool can_fast_zero = false;
  bool can_multi_conn = false;
  bool can_cache = false;  // natively or by emulation
  bool structured_replies = false;
};

// The transmission flags advertised for an export.  Write zeroes is
// available when writable (the server can emulate it with writes) unless a
// layer hides it (nozero filter).
uint16_t transmission_flags(const ExportCapabilities& caps);

// The state a request is validated against.
struct ExportState {
  uint64_t size;
  uint16_t eflags;  // as computed by transmission_flags()
  bool structured_replies;
  bool base_allocation;  // base:allocation was selected
};

struct RequestCheck {
  uint32_t nbd_error;  // 0 when the request may be executed
  const char* reason;  // for the log, when rejected
};

// Checks a request header as nbdkit does, in the same order (size of data
// requests, flags, range, then whether the export supports the command).
// A rejected WRITE's payload must still be consumed by the caller.
RequestCheck check_request(const Request& request, const ExportState& export_state);

// The NBD error for a host errno value coming from a data call.  ENOTSUP only travels for FAST_ZERO requests and
// EOVERFLOW only for DF reads; everything unknown is EINVAL.
uint32_t nbd_error_from_errno(int err, uint16_t request_flags);

const char* command_name(uint16_t type);
// "NBD_OPT_GO", "NBD_REP_ACK", ...; "unknown option" / "unknown reply".
const char* option_name(uint32_t option);
const char* option_reply_name(uint32_t reply_type);

}  // namespace nbd
