// The handshake and option phase of a connection: everything a client can
// send before it has chosen an export, which is also everything it can send
// before TLS has authenticated it.  Hence the limits here: each option's
// payload is capped to what the option can need and read as it arrives
// (option_payload.hpp), and the whole phase must end within --timeout.
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "connection_impl.hpp"

namespace nbdkit::server {

namespace {

// Option payloads are read (and charged to the negotiation budget) in
// pieces of this size, so a client holds memory only for what it has sent.
constexpr size_t kPayloadPiece = 4096;

bool timed_out(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT; }

void report_timeout() {
  error("client did not finish negotiation within the --timeout; dropping it");
}

}  // namespace

bool Connection::arm_socket_timeouts() {
  if (!deadline_) return true;
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
      *deadline_ - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    report_timeout();
    return false;
  }
  const struct timeval tv = {time_t(left.count() / 1'000'000),
                             suseconds_t(left.count() % 1'000'000)};
  // Fails harmlessly (ENOTSOCK) for -s on pipes: the deadline is then
  // only checked between reads.
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return true;
}

bool Connection::read_negotiation(void* buf, size_t size) {
  auto* p = static_cast<unsigned char*>(buf);
  while (size > 0) {
    if (!arm_socket_timeouts()) return false;
    const ssize_t n = transport_->read_some(p, size);
    if (n <= 0) {
      if (n < 0 && timed_out(errno) && deadline_) report_timeout();
      return false;
    }
    p += n;
    size -= size_t(n);
  }
  return true;
}

bool Connection::send_option_reply(uint32_t option, uint32_t type, const void* data,
                                   size_t length) {
  unsigned char header[nbd::kOptionReplyHeaderSize];
  nbd::encode_option_reply_header(header, option, type, uint32_t(length));
  struct iovec iov[2] = {{header, sizeof header}, {const_cast<void*>(data), length}};
  if (type == nbd::kRepAck)
    debug("replying to %s with %s", nbd::option_name(option), nbd::option_reply_name(type));
  if (transport_->write_all(iov, length ? 2 : 1) == 0) return true;
  debug("write failed during negotiation: %s", std::strerror(errno));
  return false;
}

bool Connection::send_option_error(uint32_t option, uint32_t type, const std::string& message) {
  debug("replying to %s with %s: %s", nbd::option_name(option), nbd::option_reply_name(type),
        message.c_str());
  return send_option_reply(option, type, message.data(), message.size());
}

bool Connection::open_export(std::string_view name) {
  const Options& options = ctx_.options;
  const bool is_tls = transport_->is_tls();
  try {
    auto context = ctx_.backend.open(options.readonly, name, is_tls);
    Context& c = *context;
    nbd::ExportCapabilities caps;
    caps.writable = !options.readonly && c.can_write();
    caps.can_flush = c.can_flush();
    const FuaSupport fua = caps.writable ? c.can_fua() : FuaSupport::none;
    caps.can_fua = fua != FuaSupport::none;
    caps.rotational = c.is_rotational();
    caps.can_trim = caps.writable && c.can_trim();
    caps.can_write_zeroes = caps.writable && c.can_write_zeroes();
    const bool native_zero = caps.can_write_zeroes && c.can_zero();
    // Emulated zeroing is slow, so a FAST_ZERO request can be refused at
    // once: advertising fast zero then costs nothing (nbdkit does the same).
    caps.can_fast_zero = caps.writable && (!native_zero || c.can_fast_zero());
    // One client at a time cannot make use of multi-conn (as nbdkit).
    caps.can_multi_conn = c.can_multi_conn() &&
                          ctx_.backend.thread_model() != ThreadModel::serialize_connections;
    const CacheSupport cache = c.can_cache();
    caps.can_cache = cache != CacheSupport::none;
    caps.structured_replies = structured_replies_;
    const bool extents = c.can_extents();

    export_state_ = {c.get_size(), nbd::transmission_flags(caps), structured_replies_,
                     base_allocation_ && meta_context_export_ == name};
    handling_ = {&c, structured_replies_, fua, native_zero, cache, extents};
    context_ = std::move(context);
    export_name_ = name;
    return true;
  } catch (const std::exception& e) {
    error("cannot open export \"%.*s\": %s", int(name.size()), name.data(), e.what());
    return false;
  }
}

Negotiation Connection::negotiate() {
  if (ctx_.options.timeout_ns > 0)
    deadline_ = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ctx_.options.timeout_ns);
  if (!arm_socket_timeouts()) return Negotiation::close;
  const Negotiation outcome = ctx_.options.oldstyle ? oldstyle_handshake() : newstyle_handshake();
  option_payload_.release();
  if (deadline_) {
    // Transmission has no deadline: an idle client may stay connected.
    const struct timeval none = {0, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  }
  return outcome;
}

Negotiation Connection::oldstyle_handshake() {
  if (!open_export("")) return Negotiation::close;
  unsigned char hello[8 + 8 + 8 + 4 + 124] = {};
  nbd::put64(hello, nbd::kNbdMagic);
  nbd::put64(hello + 8, nbd::kOldstyleMagic);
  nbd::put64(hello + 16, export_state_.size);
  nbd::put32(hello + 24, export_state_.eflags);
  if (transport_->write_all(hello, sizeof hello) != 0) return Negotiation::close;
  return Negotiation::transmit;
}

Negotiation Connection::newstyle_handshake() {
  const uint16_t global_flags =
      (nbd::kFlagFixedNewstyle | nbd::kFlagNoZeroes) & ctx_.options.mask_handshake;
  unsigned char hello[18];
  nbd::put64(hello, nbd::kNbdMagic);
  nbd::put64(hello + 8, nbd::kOptionMagic);
  nbd::put16(hello + 16, global_flags);
  if (transport_->write_all(hello, sizeof hello) != 0) return Negotiation::close;

  unsigned char flags_bytes[4];
  if (!read_negotiation(flags_bytes, 4)) {
    debug("client closed the connection before sending its flags");
    return Negotiation::close;
  }
  const uint32_t client_flags = nbd::get32(flags_bytes);
  debug("newstyle negotiation: global flags 0x%x, client flags 0x%x", global_flags, client_flags);
  if (client_flags & ~uint32_t(global_flags)) {
    error("client requested unexpected handshake flags 0x%x", client_flags);
    return Negotiation::close;
  }
  return negotiate_options(client_flags);
}

Negotiation Connection::finish_export_name(const std::string& name, uint32_t client_flags) {
  if (!nbd::valid_export_name(name)) {
    error("NBD_OPT_EXPORT_NAME: invalid export name");
    return Negotiation::close;
  }
  // This option cannot report errors: a failure can only end the session.
  if (!open_export(name)) return Negotiation::close;
  unsigned char reply[8 + 2 + 124] = {};
  nbd::put64(reply, export_state_.size);
  nbd::put16(reply + 8, export_state_.eflags);
  const size_t length = (client_flags & nbd::kClientNoZeroes) ? 10 : sizeof reply;
  if (transport_->write_all(reply, length) != 0) return Negotiation::close;
  return Negotiation::transmit;
}

// Reads the payload of `option` into option_payload_, or refuses it (and
// with it the client) when it is longer than the option can need or the
// memory for clients in negotiation is used up.
bool Connection::read_option_payload(uint32_t option, uint32_t length) {
  option_payload_.clear();
  if (length > nbd::max_option_payload(option)) {
    error("option %u: a payload of %u bytes is longer than it may be (%u); dropping the client",
          option, length, nbd::max_option_payload(option));
    send_option_error(option, nbd::kRepErrTooBig, "option payload too long");
    return false;
  }
  while (length > 0) {
    const size_t n = std::min<size_t>(length, kPayloadPiece);
    unsigned char* dest = option_payload_.extend(n);
    if (!dest) {
      error("option %u: the memory allowed for clients in negotiation is used up; "
            "dropping this client", option);
      send_option_error(option, nbd::kRepErrTooBig, "server busy, try again later");
      return false;
    }
    if (!read_negotiation(dest, n)) {
      debug("client closed the connection in the middle of option %u", option);
      return false;
    }
    length -= uint32_t(n);
  }
  return true;
}

Negotiation Connection::negotiate_options(uint32_t client_flags) {
  const bool fixed = client_flags & nbd::kClientFixedNewstyle;
  const bool tls_required = ctx_.options.tls.policy == TlsPolicy::require ||
                            (ctx_.tls && ctx_.tls->policy() == TlsPolicy::require);

  for (int n = 0; n < nbd::kMaxOptions; ++n) {
    unsigned char header[nbd::kOptionHeaderSize];
    if (!read_negotiation(header, sizeof header)) {
      debug("client closed the connection during negotiation");
      return Negotiation::close;
    }
    const nbd::OptionHeader opt = nbd::decode_option_header(header);
    if (opt.magic != nbd::kOptionMagic) {
      error("bad option magic 0x%llx: not an NBD client; dropping it",
            static_cast<unsigned long long>(opt.magic));
      return Negotiation::close;
    }
    if (!read_option_payload(opt.option, opt.length)) return Negotiation::close;
    debug("newstyle negotiation: %s (%u bytes of data)", nbd::option_name(opt.option), opt.length);

    if (!fixed && opt.option != nbd::kOptExportName) {
      if (!send_option_error(opt.option, nbd::kRepErrInvalid,
                             "only NBD_OPT_EXPORT_NAME is allowed without fixed newstyle"))
        return Negotiation::close;
      continue;
    }
    if (tls_required && !transport_->is_tls() && opt.option != nbd::kOptStartTls &&
        opt.option != nbd::kOptAbort) {
      if (opt.option == nbd::kOptExportName) {
        error("NBD_OPT_EXPORT_NAME before TLS was negotiated, but TLS is required");
        return Negotiation::close;
      }
      if (!send_option_error(opt.option, nbd::kRepErrTlsReqd, "TLS is required"))
        return Negotiation::close;
      continue;
    }
    if (const std::optional<Negotiation> end = dispatch_option(opt.option, client_flags))
      return *end;
  }
  error("client sent more than %d options during negotiation; dropping it", nbd::kMaxOptions);
  return Negotiation::close;
}

// Handles one option; a value when negotiation is over.
std::optional<Negotiation> Connection::dispatch_option(uint32_t option, uint32_t client_flags) {
  const bool has_data = !option_payload_.empty();
  bool ok = true;
  switch (option) {
    case nbd::kOptExportName: {
      const auto name = option_payload_.bytes();
      return finish_export_name(std::string(name.begin(), name.end()), client_flags);
    }
    case nbd::kOptAbort:
      debug("client sent NBD_OPT_ABORT");
      send_option_reply(option, nbd::kRepAck);
      return Negotiation::close;
    case nbd::kOptList:
      if (has_data)
        ok = send_option_error(option, nbd::kRepErrInvalid, "NBD_OPT_LIST takes no data");
      else
        handle_list();
      break;
    case nbd::kOptStartTls:
      ok = handle_starttls();
      break;
    case nbd::kOptInfo:
    case nbd::kOptGo:
      if (!handle_info_or_go(option)) return Negotiation::close;
      if (option == nbd::kOptGo && context_) return Negotiation::transmit;
      context_.reset();  // INFO only looks
      break;
    case nbd::kOptStructuredReply:
      if (has_data)
        ok = send_option_error(option, nbd::kRepErrInvalid,
                               "NBD_OPT_STRUCTURED_REPLY takes no data");
      else if (ctx_.options.no_structured_replies)
        ok = send_option_error(option, nbd::kRepErrUnsup,
                               "structured replies are disabled (--no-sr)");
      else {
        structured_replies_ = true;
        ok = send_option_reply(option, nbd::kRepAck);
      }
      break;
    case nbd::kOptListMetaContext:
    case nbd::kOptSetMetaContext:
      handle_meta_context(option);
      break;
    default:
      // Includes NBD_OPT_EXTENDED_HEADERS, which we do not offer yet.
      ok = send_option_error(option, nbd::kRepErrUnsup, "unsupported option");
      break;
  }
  if (!ok || write_failed_) return Negotiation::close;
  return std::nullopt;
}

void Connection::handle_list() {
  const uint32_t option = nbd::kOptList;
  if (listed_) {
    write_failed_ = !send_option_error(option, nbd::kRepErrInvalid,
                                       "NBD_OPT_LIST may be sent only once");
    return;
  }
  listed_ = true;
  std::vector<ExportInfo> exports;
  try {
    exports = ctx_.backend.list_exports(ctx_.options.readonly, transport_->is_tls());
  } catch (const std::exception& e) {
    write_failed_ = !send_option_error(option, nbd::kRepErrPlatform, e.what());
    return;
  }
  std::vector<unsigned char> reply;
  for (const ExportInfo& e : exports) {
    reply.resize(4);
    nbd::put32(reply.data(), uint32_t(e.name.size()));
    reply.insert(reply.end(), e.name.begin(), e.name.end());
    reply.insert(reply.end(), e.description.begin(), e.description.end());
    if (!send_option_reply(option, nbd::kRepServer, reply.data(), reply.size())) {
      write_failed_ = true;
      return;
    }
  }
  write_failed_ = !send_option_reply(option, nbd::kRepAck);
}

bool Connection::handle_starttls() {
  const uint32_t option = nbd::kOptStartTls;
  if (!option_payload_.empty())
    return send_option_error(option, nbd::kRepErrInvalid, "NBD_OPT_STARTTLS takes no data");
  if (!ctx_.tls) return send_option_error(option, nbd::kRepErrPolicy, "TLS is not enabled");
  if (transport_->is_tls())
    return send_option_error(option, nbd::kRepErrInvalid, "TLS is already negotiated");
  if (!send_option_reply(option, nbd::kRepAck)) return false;
  if (!arm_socket_timeouts()) return false;
  try {
    std::unique_ptr<PlainTransport> plain(static_cast<PlainTransport*>(transport_.release()));
    transport_ = ctx_.tls->upgrade(std::move(plain));
  } catch (const std::exception& e) {
    error("TLS handshake failed: %s", e.what());
    return false;
  }
  // What was negotiated in plaintext could have been injected by a man in
  // the middle: start over.
  structured_replies_ = false;
  base_allocation_ = false;
  meta_context_export_.clear();
  return true;
}

bool Connection::handle_info_or_go(uint32_t option) {
  const auto request = nbd::parse_info_request(option_payload_.bytes());
  if (!request)
    return send_option_error(option, nbd::kRepErrInvalid, "malformed NBD_OPT_INFO/GO request");
  const std::string name(request->export_name);
  if (!nbd::valid_export_name(name))
    return send_option_error(option, nbd::kRepErrInvalid, "invalid export name");
  debug("newstyle negotiation: %s: client requested export '%s'", nbd::option_name(option),
        name.c_str());
  if (!open_export(name))
    return send_option_error(option, nbd::kRepErrUnknown,
                             "cannot open export \"" + name + "\"");
  bool ok;
  try {
    ok = send_export_info(option, name, *request);
  } catch (const std::exception& e) {
    context_.reset();
    return send_option_error(option, nbd::kRepErrUnknown, e.what());
  }
  return ok && send_option_reply(option, nbd::kRepAck);
}

// The NBD_REP_INFO replies for the export just opened.
bool Connection::send_export_info(uint32_t option, const std::string& name,
                                  const nbd::InfoRequest& request) {
  unsigned char info[2 + 8 + 2];
  nbd::put16(info, nbd::kInfoExport);
  nbd::put64(info + 2, export_state_.size);
  nbd::put16(info + 10, export_state_.eflags);
  if (!send_option_reply(option, nbd::kRepInfo, info, sizeof info)) return false;

  auto wants = [&](uint16_t type) {
    return std::find(request.requests.begin(), request.requests.end(), type) !=
           request.requests.end();
  };
  std::vector<unsigned char> text;
  auto send_text = [&](uint16_t type, const std::string& s) {
    text.resize(2);
    nbd::put16(text.data(), type);
    text.insert(text.end(), s.begin(), s.end());
    return send_option_reply(option, nbd::kRepInfo, text.data(), text.size());
  };
  if (wants(nbd::kInfoName)) {
    const std::string canonical =
        name.empty() ? ctx_.backend.default_export(ctx_.options.readonly, transport_->is_tls())
                     : name;
    if (!send_text(nbd::kInfoName, canonical)) return false;
  }
  if (wants(nbd::kInfoDescription)) {
    const std::string description = context_->export_description();
    if (!description.empty() && !send_text(nbd::kInfoDescription, description)) return false;
  }
  if (const auto sizes = context_->block_size()) {
    unsigned char block[2 + 12];
    nbd::put16(block, nbd::kInfoBlockSize);
    nbd::put32(block + 2, sizes->minimum);
    nbd::put32(block + 6, sizes->preferred);
    // Larger data requests are refused (EOVERFLOW), so never promise more.
    nbd::put32(block + 10, std::min(sizes->maximum, nbd::kMaxDataSize));
    if (!send_option_reply(option, nbd::kRepInfo, block, sizeof block)) return false;
  }
  return true;
}

void Connection::handle_meta_context(uint32_t option) {
  const bool listing = option == nbd::kOptListMetaContext;
  auto refuse = [&](uint32_t type, const char* message) {
    write_failed_ = !send_option_error(option, type, message);
  };
  if (ctx_.options.no_meta_contexts)
    return refuse(nbd::kRepErrUnsup, "meta contexts are disabled (--no-mc)");
  // Listing works without structured replies, as in nbdkit; selecting not.
  if (!listing && !structured_replies_)
    return refuse(nbd::kRepErrInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies");
  const auto request = nbd::parse_meta_context_request(option_payload_.bytes());
  if (!request) return refuse(nbd::kRepErrInvalid, "malformed meta context request");
  if (!nbd::valid_export_name(request->export_name))
    return refuse(nbd::kRepErrInvalid, "invalid export name");
  for (std::string_view query : request->queries)
    if (!nbd::valid_meta_query(query))
      return refuse(nbd::kRepErrInvalid, "query too long or containing NUL");

  bool selected = listing && request->queries.empty();
  for (std::string_view query : request->queries) {
    const bool matches = nbd::meta_query_matches_base_allocation(query, listing);
    debug("newstyle negotiation: %s: query '%.*s'%s", nbd::option_name(option),
          int(query.size()), query.data(), matches ? "" : " (not supported)");
    selected = selected || matches;
  }

  if (!listing) {
    base_allocation_ = selected;
    meta_context_export_ = request->export_name;
  }
  if (selected) {
    unsigned char reply[4 + nbd::kBaseAllocation.size()];
    // The spec reserves id 0 in list replies.
    nbd::put32(reply, listing ? 0 : nbd::kBaseAllocationId);
    std::memcpy(reply + 4, nbd::kBaseAllocation.data(), nbd::kBaseAllocation.size());
    if (!send_option_reply(option, nbd::kRepMetaContext, reply, sizeof reply)) {
      write_failed_ = true;
      return;
    }
  }
  write_failed_ = !send_option_reply(option, nbd::kRepAck);
}

}  // namespace nbdkit::server
