#include "image.hpp"

#include <cerrno>
#include <cstring>

#include <nbdkit/services.hpp>

#include "completion_event.hpp"

namespace rbd_plugin {

namespace {

// An nbdkit::Error from a librados/librbd result (a negative errno).
nbdkit::Error failure(const std::string& what, int result) {
  return nbdkit::Error(what + ": " + std::strerror(-result), -result);
}

// One request's rendezvous with librbd's completion callback, which runs
// on one of librbd's threads.
struct Waiter {
  plugins_common::CompletionEvent done;
  ssize_t result = 0;

  static void completed(rbd_completion_t completion, void* self) {
    auto* waiter = static_cast<Waiter*>(self);
    waiter->result = rbd_aio_get_return_value(completion);
    waiter->done.set();
  }
};

}  // namespace

void ImageSpec::set_image(std::string_view text) {
  const size_t first = text.find('/');
  const size_t last = text.rfind('/');
  if (first == std::string_view::npos || first == 0 || last + 1 == text.size())
    throw nbdkit::Error("image=" + std::string(text) +
                        ": expected POOL/IMAGE or POOL/NAMESPACE/IMAGE");
  pool = text.substr(0, first);
  image = text.substr(last + 1);
  name_space = first == last ? std::string() : std::string(text.substr(first + 1, last - first - 1));
  if (name_space.find('/') != std::string::npos)
    throw nbdkit::Error("image=" + std::string(text) + ": too many '/'");
}

std::string ImageSpec::describe() const {
  std::string text = pool + "/" + (name_space.empty() ? "" : name_space + "/") + image;
  return snapshot.empty() ? text : text + "@" + snapshot;
}

Image::Image(const ImageSpec& spec, bool readonly) : readonly_(readonly || !spec.snapshot.empty()) {
  int result = rados_create(&cluster_, spec.id.empty() ? nullptr : spec.id.c_str());
  if (result < 0) throw failure("rados_create", result);
  // A missing cluster would otherwise keep the server waiting for 5
  // minutes; a configuration file can still say otherwise.
  rados_conf_set(cluster_, "client_mount_timeout", "30");
  // NBD clients send FLUSH (or FUA) when they need data to be durable, and
  // we advertise both: librbd's cache may be write-back from the start
  // rather than only after a client's first flush.
  rados_conf_set(cluster_, "rbd_cache_writethrough_until_flush", "false");
  result = rados_conf_read_file(cluster_, spec.conf.empty() ? nullptr : spec.conf.c_str());
  if (result < 0) throw failure("reading " + (spec.conf.empty() ? "the Ceph configuration" : spec.conf), result);
  if (!spec.keyring.empty() && (result = rados_conf_set(cluster_, "keyring", spec.keyring.c_str())) < 0)
    throw failure("keyring=" + spec.keyring, result);
  if ((result = rados_connect(cluster_)) < 0) throw failure("connecting to the Ceph cluster", result);
  if ((result = rados_ioctx_create(cluster_, spec.pool.c_str(), &ioctx_)) < 0)
    throw failure("pool " + spec.pool, result);
  rados_ioctx_set_namespace(ioctx_, spec.name_space.empty() ? nullptr : spec.name_space.c_str());
  const char* snapshot = spec.snapshot.empty() ? nullptr : spec.snapshot.c_str();
  result = readonly_ ? rbd_open_read_only(ioctx_, spec.image.c_str(), &image_, snapshot)
                     : rbd_open(ioctx_, spec.image.c_str(), &image_, snapshot);
  if (result < 0) throw failure("opening image " + spec.describe(), result);
  rbd_image_info_t info;
  if ((result = rbd_stat(image_, &info, sizeof info)) < 0) throw failure("rbd_stat", result);
  object_size_ = info.obj_size;
}

Image::~Image() {
  if (image_) rbd_close(image_);
  if (ioctx_) rados_ioctx_destroy(ioctx_);
  if (cluster_) rados_shutdown(cluster_);
}

uint64_t Image::size() const {
  uint64_t size = 0;
  const int result = rbd_get_size(image_, &size);
  if (result < 0) throw failure("rbd_get_size", result);
  return size;
}

// Submits one asynchronous request with `submit(completion)` and waits for
// it.  Returns 0 or an errno value.
template <typename Submit>
int Image::run(Submit submit) {
  Waiter waiter;
  rbd_completion_t completion;
  int result = rbd_aio_create_completion(&waiter, Waiter::completed, &completion);
  if (result < 0) return -result;
  result = submit(completion);
  if (result < 0) {
    rbd_aio_release(completion);
    return -result;
  }
  waiter.done.wait();
  rbd_aio_release(completion);
  return waiter.result < 0 ? int(-waiter.result) : 0;
}

int Image::pread(void* buf, uint32_t count, uint64_t offset) {
  return run([&](rbd_completion_t c) {
    return rbd_aio_read(image_, offset, count, static_cast<char*>(buf), c);
  });
}

int Image::pwrite(const void* buf, uint32_t count, uint64_t offset) {
  return run([&](rbd_completion_t c) {
    return rbd_aio_write(image_, offset, count, static_cast<const char*>(buf), c);
  });
}

int Image::flush() {
  return run([&](rbd_completion_t c) { return rbd_aio_flush(image_, c); });
}

int Image::discard(uint32_t count, uint64_t offset) {
  return run([&](rbd_completion_t c) { return rbd_aio_discard(image_, offset, count, c); });
}

int Image::write_zeroes(uint32_t count, uint64_t offset) {
  return run([&](rbd_completion_t c) {
    return rbd_aio_write_zeroes(image_, offset, count, c, 0, 0);
  });
}

namespace {

struct ExtentWalk {
  nbdkit::ExtentList* out;
  uint64_t next;  // where the last extent added ended
  int error = 0;

  void add(uint64_t offset, uint64_t length, uint32_t type) {
    if (error == 0 && length > 0) error = out->add(offset, length, type);
  }
  // librbd reports the allocated ranges in order; the gaps between them
  // are unallocated and read as zeroes.
  static int found(uint64_t offset, size_t length, int exists, void* self) {
    auto* walk = static_cast<ExtentWalk*>(self);
    if (offset > walk->next) walk->add(walk->next, offset - walk->next, nbdkit::extent::hole | nbdkit::extent::zero);
    walk->add(offset, length, exists ? nbdkit::extent::data : nbdkit::extent::hole | nbdkit::extent::zero);
    walk->next = offset + length;
    return 0;
  }
};

}  // namespace

int Image::extents(uint32_t count, uint64_t offset, nbdkit::ExtentList& out) {
  ExtentWalk walk{&out, offset};
  const int result = rbd_diff_iterate2(image_, nullptr, offset, count, 1, 0, ExtentWalk::found, &walk);
  if (result < 0) return -result;
  if (walk.next < offset + count) walk.add(walk.next, offset + count - walk.next, nbdkit::extent::hole | nbdkit::extent::zero);
  return walk.error;
}

std::string librbd_version() {
  int major = 0, minor = 0, extra = 0;
  rbd_version(&major, &minor, &extra);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra);
}

}  // namespace rbd_plugin
