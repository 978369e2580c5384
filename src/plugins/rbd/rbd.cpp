// nbdkit rbd [image=]POOL/[NAMESPACE/]IMAGE [conf=FILE] [id=CLIENT]
//   [keyring=FILE] [snap=NAME]
// Serves a Ceph RADOS block device image through librbd, the library qemu
// uses (nbdkit-rbd-plugin(1)).
#include <memory>
#include <mutex>

#include <nbdkit/plugin.hpp>

#include "image.hpp"

namespace {

using rbd_plugin::Image;
using rbd_plugin::ImageSpec;

class RbdContext final : public nbdkit::Context {
 public:
  RbdContext(Image& image, bool readonly) : image_(image), readonly_(readonly || image.readonly()) {}

  uint64_t get_size() override { return image_.size(); }
  bool can_write() override { return !readonly_; }
  bool can_flush() override { return true; }
  bool can_trim() override { return !readonly_; }
  bool can_zero() override { return !readonly_; }
  // write_zeroes is a metadata operation in librbd, never a data write.
  bool can_fast_zero() override { return !readonly_; }
  bool can_extents() override { return true; }
  // One shared image handle (one cache): a flush on any connection makes
  // every connection's completed writes durable, and all see each other's
  // writes.
  bool can_multi_conn() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return image_.pread(buf, count, offset);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const int err = image_.pwrite(buf, count, offset);
    return err == 0 && (flags & nbdkit::flags::fua) ? image_.flush() : err;
  }
  int flush(uint32_t) override { return image_.flush(); }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    const int err = image_.discard(count, offset);
    return err == 0 && (flags & nbdkit::flags::fua) ? image_.flush() : err;
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    const int err = image_.write_zeroes(count, offset);
    return err == 0 && (flags & nbdkit::flags::fua) ? image_.flush() : err;
  }
  int extents(uint32_t count, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    return image_.extents(count, offset, out);
  }

 private:
  Image& image_;
  bool readonly_;
};

class RbdPlugin final : public nbdkit::Plugin {
 public:
  const char* magic_config_key() const override { return "image"; }
  std::string config_help() const override {
    return "[image=]POOL/[NAMESPACE/]IMAGE  The RBD image to serve.\n"
           "conf=<FILE>            Ceph configuration (default: librados's search).\n"
           "id=<CLIENT>            Client name, without \"client.\" (default admin).\n"
           "keyring=<FILE>         Keyring with the client's key.\n"
           "snap=<NAME>            Serve this snapshot, read-only.";
  }
  void dump_plugin(std::ostream& out) const override {
    out << "librbd_version=" << rbd_plugin::librbd_version() << "\n";
  }

  void config(std::string_view key, std::string_view value) override {
    if (key == "image") spec_.set_image(value);
    else if (key == "conf") spec_.conf = nbdkit::absolute_path(value);
    else if (key == "id") spec_.id = value;
    else if (key == "keyring") spec_.keyring = nbdkit::absolute_path(value);
    else if (key == "snap") spec_.snapshot = value;
    else throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
  }
  void config_complete() override {
    if (spec_.image.empty()) throw nbdkit::Error("you must give [image=]POOL/[NAMESPACE/]IMAGE");
  }

  // librados starts threads, which would not survive nbdkit forking into
  // the background: the cluster is joined after the fork (the server is
  // not reported ready, and exits 1, if that fails).
  void after_fork() override {
    try {
      image_ = std::make_unique<Image>(spec_, false);
    } catch (const nbdkit::Error& e) {
      const int err = e.errno_value;
      if (err != EPERM && err != EACCES && err != EROFS) throw;
      nbdkit::debug("rbd: %s; serving %s read-only", e.what(), spec_.describe().c_str());
      image_ = std::make_unique<Image>(spec_, true);
    }
    nbdkit::debug("rbd: serving %s (%llu bytes, %llu-byte objects)", spec_.describe().c_str(),
                  static_cast<unsigned long long>(image_->size()),
                  static_cast<unsigned long long>(image_->object_size()));
  }
  void unload() override { image_.reset(); }

  std::unique_ptr<nbdkit::Context> open(bool readonly, std::string_view, bool) override {
    return std::make_unique<RbdContext>(*image_, readonly);
  }

 private:
  ImageSpec spec_;
  std::unique_ptr<Image> image_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("rbd", RbdPlugin);
