// nbdkit nbd { socket=PATH | hostname=HOST [port=PORT] | vsock=CID [port=PORT]
//              | [uri=]URI | socket-fd=FD | command=CMD [arg=ARG ...] }
//   [export=NAME] [dynamic-export=BOOL] [retry=N] [shared=BOOL]
//   [tls=off|on|require] [tls-certificates=DIR] [tls-verify=BOOL]
//   [tls-username=NAME] [tls-psk=FILE]
// A proxy: each client's requests go to another NBD server, over one
// upstream connection per client or one shared by all (nbdkit-nbd-plugin(1)).
#include <libnbd.h>

#include <memory>
#include <mutex>

#include <nbdkit/plugin.hpp>

#include "connect_options.hpp"
#include "upstream.hpp"

namespace {

using nbd_plugin::ConnectOptions;
using nbd_plugin::Upstream;

// What the upstream server offers, asked once per connection.
struct Offer {
  uint64_t size = 0;
  bool writable = false, flush = false, fua = false, trim = false, zero = false;
  bool fast_zero = false, multi_conn = false, cache = false, extents = false;
  bool rotational = false;
  std::optional<nbdkit::BlockSize> block_size;
  std::string description;
};

Offer read_offer(nbd_handle* h) {
  Offer offer;
  const int64_t size = nbd_get_size(h);
  if (size < 0) throw nbdkit::Error(std::string("nbd_get_size: ") + nbd_get_error(), EIO);
  offer.size = uint64_t(size);
  auto yes = [](int answer) { return answer == 1; };
  offer.writable = nbd_is_read_only(h) == 0;
  offer.flush = yes(nbd_can_flush(h));
  offer.fua = yes(nbd_can_fua(h));
  offer.trim = yes(nbd_can_trim(h));
  offer.zero = yes(nbd_can_zero(h));
  offer.fast_zero = yes(nbd_can_fast_zero(h));
  offer.multi_conn = yes(nbd_can_multi_conn(h));
  offer.cache = yes(nbd_can_cache(h));
  offer.extents = yes(nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION));
  offer.rotational = yes(nbd_is_rotational(h));
  const int64_t minimum = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
  const int64_t preferred = nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED);
  const int64_t maximum = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);
  if (minimum > 0 && preferred > 0 && maximum > 0)
    offer.block_size = nbdkit::BlockSize{uint32_t(minimum), uint32_t(preferred), uint32_t(maximum)};
  if (char* description = nbd_get_export_description(h)) {
    offer.description = description;
    free(description);
  }
  return offer;
}

class NbdContext final : public nbdkit::Context {
 public:
  // `owned` is set for a connection of this client's own; `shared` points
  // at the plugin's in shared mode.
  NbdContext(std::unique_ptr<Upstream> owned, Upstream* shared)
      : owned_(std::move(owned)),
        upstream_(owned_ ? owned_.get() : shared),
        offer_(read_offer(upstream_->handle())) {}

  uint64_t get_size() override { return offer_.size; }
  std::optional<nbdkit::BlockSize> block_size() override { return offer_.block_size; }
  std::string export_description() override { return offer_.description; }
  bool can_write() override { return offer_.writable; }
  bool can_flush() override { return offer_.flush; }
  bool is_rotational() override { return offer_.rotational; }
  bool can_trim() override { return offer_.trim; }
  bool can_zero() override { return offer_.zero; }
  bool can_fast_zero() override { return offer_.fast_zero; }
  bool can_extents() override { return offer_.extents; }
  nbdkit::FuaSupport can_fua() override {
    return offer_.fua ? nbdkit::FuaSupport::native : nbdkit::Context::can_fua();
  }
  bool can_multi_conn() override { return offer_.multi_conn; }
  nbdkit::CacheSupport can_cache() override {
    return offer_.cache ? nbdkit::CacheSupport::native : nbdkit::CacheSupport::none;
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return upstream_->pread(buf, count, offset);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return upstream_->pwrite(buf, count, offset, flags);
  }
  int flush(uint32_t) override { return upstream_->flush(); }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return upstream_->trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    return upstream_->zero(count, offset, flags);
  }
  int cache(uint32_t count, uint64_t offset, uint32_t) override {
    return upstream_->cache(count, offset);
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) override {
    return upstream_->extents(count, offset, flags, out);
  }

 private:
  std::unique_ptr<Upstream> owned_;
  Upstream* upstream_;
  Offer offer_;
};

class NbdPlugin final : public nbdkit::Plugin {
 public:
  const char* magic_config_key() const override { return "uri"; }
  std::string config_help() const override {
    return "[uri=]<URI>            URI of the NBD server (nbd://, nbds://, nbd+unix://...).\n"
           "socket=<SOCKNAME>      The Unix socket of the NBD server.\n"
           "hostname=<HOST>        The host name of the NBD server (TCP).\n"
           "port=<PORT>            Its TCP or vsock port (default 10809).\n"
           "vsock=<CID>            The vsock context ID of the NBD server.\n"
           "socket-fd=<FD>         An open socket to the NBD server.\n"
           "command=<COMMAND>      Run this NBD server (socket activation),\n"
           "arg=<ARG>              with these arguments, one per arg=.\n"
           "export=<NAME>          The export to ask the server for.\n"
           "dynamic-export=<BOOL>  Ask the server for each client's export name.\n"
           "retry=<N>              Retry connecting N times, a second apart.\n"
           "shared=<BOOL>          One connection to the server for all clients.\n"
           "tls=off|on|require     TLS towards the server.\n"
           "tls-certificates=<DIR> Client certificates.\n"
           "tls-verify=<BOOL>      Verify the server's name (default true).\n"
           "tls-username=<NAME>    User name presented to the server.\n"
           "tls-psk=<FILE>         Pre-shared keys file.";
  }
  void dump_plugin(std::ostream& out) const override {
    nbd_handle* h = nbd_create();
    if (!h) return;
    out << "libnbd_version=" << nbd_get_version(h) << "\nlibnbd_tls=" << nbd_supports_tls(h)
        << "\nlibnbd_uri=" << nbd_supports_uri(h) << "\nlibnbd_vsock=1\nlibnbd_dynamic_list=1\n";
    nbd_close(h);
  }

  void config(std::string_view key, std::string_view value) override {
    if (!options_.set(key, value)) throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
  }
  void config_complete() override { options_.check(); }

  // The shared connection is made after nbdkit forks into the background:
  // the dispatcher thread would not survive the fork.
  void after_fork() override {
    if (options_.shared) shared_ = Upstream::connect(options_, nullptr);
  }
  void unload() override { shared_.reset(); }

  std::vector<nbdkit::ExportInfo> list_exports(bool, bool) override {
    if (!options_.dynamic_export) return {nbdkit::ExportInfo{}};
    return nbd_plugin::list_upstream_exports(options_);
  }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view exportname, bool) override {
    if (shared_) return std::make_unique<NbdContext>(nullptr, shared_.get());
    const std::string name(exportname);
    return std::make_unique<NbdContext>(
        Upstream::connect(options_, options_.dynamic_export ? &name : nullptr), nullptr);
  }

 private:
  ConnectOptions options_;
  std::unique_ptr<Upstream> shared_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("nbd", NbdPlugin);
