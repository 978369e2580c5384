#include "trace.hpp"

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "log.hpp"

NBDKIT_DEBUG_FLAG("nbdkit", "backend.controlpath");
NBDKIT_DEBUG_FLAG("nbdkit", "backend.datapath");

namespace nbdkit::server {

namespace {

using ull = unsigned long long;

int bit(uint32_t flags, uint32_t which) { return (flags & which) ? 1 : 0; }

// Logs each call under the layer's name, then hands it to the layer.  The
// words and their order are nbdkit's, so that traces of the two can be
// read (and compared) the same way.
class TracedContext final : public Context {
 public:
  TracedContext(const TraceSettings& trace, const std::string& layer,
                std::unique_ptr<Context> inner)
      : control_(trace.control), data_(trace.data), layer_(layer), inner_(std::move(inner)) {}
  ~TracedContext() override {
    if (control_) debug("%s: close", layer_.c_str());
  }
  TracedContext(const TracedContext&) = delete;
  TracedContext& operator=(const TracedContext&) = delete;

  uint64_t get_size() override { return control("get_size").get_size(); }
  std::optional<BlockSize> block_size() override { return control("block_size").block_size(); }
  std::string export_description() override {
    return control("export_description").export_description();
  }
  bool can_write() override { return control("can_write").can_write(); }
  bool can_flush() override { return control("can_flush").can_flush(); }
  bool is_rotational() override { return control("is_rotational").is_rotational(); }
  bool can_trim() override { return control("can_trim").can_trim(); }
  bool can_zero() override { return control("can_zero").can_zero(); }
  bool can_fast_zero() override { return control("can_fast_zero").can_fast_zero(); }
  bool can_extents() override { return control("can_extents").can_extents(); }
  FuaSupport can_fua() override { return control("can_fua").can_fua(); }
  bool can_multi_conn() override { return control("can_multi_conn").can_multi_conn(); }
  CacheSupport can_cache() override { return control("can_cache").can_cache(); }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    if (data_) debug("%s: pread count=%u offset=%llu", layer_.c_str(), count, ull(offset));
    return inner_->pread(buf, count, offset, f);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t f) override {
    if (data_)
      debug("%s: pwrite count=%u offset=%llu fua=%d", layer_.c_str(), count, ull(offset),
            bit(f, flags::fua));
    return inner_->pwrite(buf, count, offset, f);
  }
  int flush(uint32_t f) override {
    if (data_) debug("%s: flush", layer_.c_str());
    return inner_->flush(f);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t f) override {
    if (data_)
      debug("%s: trim count=%u offset=%llu fua=%d", layer_.c_str(), count, ull(offset),
            bit(f, flags::fua));
    return inner_->trim(count, offset, f);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t f) override {
    if (data_)
      debug("%s: zero count=%u offset=%llu may_trim=%d fua=%d fast=%d", layer_.c_str(), count,
            ull(offset), bit(f, flags::may_trim), bit(f, flags::fua), bit(f, flags::fast_zero));
    return inner_->zero(count, offset, f);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t f, ExtentList& out) override {
    if (data_)
      debug("%s: extents count=%u offset=%llu req_one=%d", layer_.c_str(), count, ull(offset),
            bit(f, flags::req_one));
    return inner_->extents(count, offset, f, out);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t f) override {
    if (data_) debug("%s: cache count=%u offset=%llu", layer_.c_str(), count, ull(offset));
    return inner_->cache(count, offset, f);
  }

 private:
  Context& control(const char* call) {
    if (control_) debug("%s: %s", layer_.c_str(), call);
    return *inner_;
  }

  const bool control_, data_;
  const std::string layer_;
  const std::unique_ptr<Context> inner_;
};

}  // namespace

TraceSettings trace_settings() {
  if (!verbose()) return {};
  return {debug_flag_or("nbdkit.backend.controlpath", 1) != 0,
          debug_flag_or("nbdkit.backend.datapath", 1) != 0};
}

void trace_open(const TraceSettings& trace, const std::string& layer, bool readonly,
                std::string_view exportname, bool is_tls) {
  if (trace.control)
    debug("%s: open readonly=%d exportname=\"%.*s\" tls=%d", layer.c_str(), readonly ? 1 : 0,
          int(exportname.size()), exportname.data(), is_tls ? 1 : 0);
}

std::unique_ptr<Context> traced(const TraceSettings& trace, const std::string& layer,
                                std::unique_ptr<Context> context) {
  if (!trace.control && !trace.data) return context;
  return std::make_unique<TracedContext>(trace, layer, std::move(context));
}

std::string describe_address(const sockaddr_storage& address, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = "?";
  switch (address.ss_family) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
      return std::string(text) + " port " + std::to_string(ntohs(in.sin_port));
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      return "[" + std::string(text) + "] port " + std::to_string(ntohs(in6.sin6_port));
    }
    case AF_UNIX: {
      const auto& un = reinterpret_cast<const sockaddr_un&>(address);
      const size_t path_length =
          length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
      const std::string path(un.sun_path, ::strnlen(un.sun_path, path_length));
      return path.empty() ? "unix socket" : "unix socket " + path;
    }
    case AF_VSOCK: {
      const auto& vm = reinterpret_cast<const sockaddr_vm&>(address);
      return "vsock cid " + std::to_string(vm.svm_cid) + " port " + std::to_string(vm.svm_port);
    }
    default:
      return "address family " + std::to_string(address.ss_family);
  }
}

std::string describe_peer(const ConnectionInfo& info) {
  if (info.peer_length == 0) return "stdin";
  std::string text = describe_address(info.peer, info.peer_length);
  if (info.peer_pid)
    text += " (pid " + std::to_string(*info.peer_pid) + ", uid " +
            std::to_string(info.peer_uid.value_or(0)) + ")";
  return text;
}

}  // namespace nbdkit::server
