// An RBD image opened through librados/librbd: one cluster connection and
// one image handle, shared by every client connection (librbd's handles
// are thread-safe, and sharing one keeps a single cache, so that a flush
// on any connection covers every connection's writes).  Data calls go
// through librbd's asynchronous API: the calling thread submits and sleeps
// until librbd's completion callback wakes it.
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cstdint>
#include <memory>
#include <string>

#include <nbdkit/context.hpp>

namespace rbd_plugin {

struct ImageSpec {
  std::string pool, name_space, image;  // [image=]POOL/[NAMESPACE/]IMAGE
  std::string snapshot;                 // snap=
  std::string conf;                     // conf=, else librados's default search
  std::string id;                       // id= (client name without "client.")
  std::string keyring;                  // keyring=

  // Parses POOL/IMAGE or POOL/NAMESPACE/IMAGE; throws nbdkit::Error.
  void set_image(std::string_view text);
  std::string describe() const;
};

class Image {
 public:
  // Connects to the cluster and opens the image (read-only for a snapshot
  // or when `readonly`); throws nbdkit::Error with librados's or librbd's
  // reason and errno.
  Image(const ImageSpec& spec, bool readonly);
  ~Image();
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  uint64_t size() const;
  uint64_t object_size() const { return object_size_; }
  bool readonly() const { return readonly_; }

  // Data calls: 0 or an errno value, as in nbdkit::Context.
  int pread(void* buf, uint32_t count, uint64_t offset);
  int pwrite(const void* buf, uint32_t count, uint64_t offset);
  int flush();
  int discard(uint32_t count, uint64_t offset);
  int write_zeroes(uint32_t count, uint64_t offset);
  // Allocated ranges as data, the rest as holes that read as zeroes.
  int extents(uint32_t count, uint64_t offset, nbdkit::ExtentList& out);

 private:
  template <typename Submit>
  int run(Submit submit);

  rados_t cluster_ = nullptr;
  rados_ioctx_t ioctx_ = nullptr;
  rbd_image_t image_ = nullptr;
  uint64_t object_size_ = 0;
  bool readonly_ = false;
};

// "librbd MAJOR.MINOR.EXTRA".
std::string librbd_version();

}  // namespace rbd_plugin
