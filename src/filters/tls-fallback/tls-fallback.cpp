// nbdkit --filter=tls-fallback: plaintext clients of a server that allows
// but does not require TLS get, whatever export they ask for, a 512-byte
// read-only disk holding a message (tlsreadme=) instead of the plugin's
// data; TLS clients get the plugin (nbdkit-tls-fallback-filter(1)).
#include <algorithm>
#include <cstring>

#include <nbdkit/plugin.hpp>

namespace {

constexpr uint32_t kReadmeSize = 512;

// The disk plaintext clients see; the layers below are never opened.
class ReadmeContext final : public nbdkit::Context {
 public:
  explicit ReadmeContext(const std::string& message) : message_(message) {}
  uint64_t get_size() override { return kReadmeSize; }
  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    auto* out = static_cast<unsigned char*>(buf);
    std::memset(out, 0, count);
    if (offset < message_.size()) {
      const size_t n = std::min<size_t>(count, message_.size() - offset);
      std::memcpy(out, message_.data() + offset, n);
    }
    return 0;
  }

 private:
  const std::string& message_;
};

class TlsFallbackFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "tlsreadme=<MESSAGE>  Alternative contents for the plaintext dummy export.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "tlsreadme") return false;
    message_ = value.substr(0, kReadmeSize);
    return true;
  }
  void get_ready() override {
    // A plaintext client holding its connection could starve TLS ones.
    if (nbdkit::server_thread_model() == nbdkit::ThreadModel::serialize_connections)
      throw nbdkit::Error("the tls-fallback filter requires parallel connection support");
  }
  bool data_calls_are_nonblocking() const override { return true; }

  std::vector<nbdkit::ExportInfo> list_exports(const nbdkit::ListExportsNext& next, bool readonly,
                                               bool is_tls) override {
    if (!is_tls) return {{"", ""}};
    return next(readonly, is_tls);
  }
  std::string default_export(const nbdkit::DefaultExportNext& next, bool readonly,
                             bool is_tls) override {
    return is_tls ? next(readonly, is_tls) : std::string();
  }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool is_tls) override {
    if (!is_tls) return std::make_unique<ReadmeContext>(message_);
    return next(readonly, exportname);
  }

 private:
  std::string message_ = "This NBD server requires TLS authentication before it will serve useful data.\n";
};

}  // namespace

NBDKIT_REGISTER_FILTER("tls-fallback", TlsFallbackFilter);
