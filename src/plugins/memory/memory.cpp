// nbdkit memory [size=]SIZE [allocator=TYPE[,key[=value]]...] [preload=FILE]
//
// One RAM disk shared by every client, all zeroes at the start and
// discarded at exit (nbdkit-memory-plugin(1)); preload= is our addition.
#include <cinttypes>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"
#include "allocator_choice.hpp"
#include "preload.hpp"
#include "preload_progress.hpp"

NBDKIT_DEBUG_FLAG("memory", "dir");

namespace {

using memory::Allocator;
using memory::AllocatorChoice;

class MemoryPlugin final : public nbdkit::Plugin {
 public:
  std::string config_help() const override {
    return "size=<SIZE>  (required) Size of the backing disk\n"
           "allocator=sparse|malloc[,mlock=true]|zstd  Backend allocation strategy\n"
           "preload=<FILE>          Raw disk image loaded into the disk at start-up";
  }
  void dump_plugin(std::ostream& out) const override {
    out << "mlock=yes\n"
        << "zstd=yes\n";
  }
  bool data_calls_are_nonblocking() const override { return true; }
  const char* magic_config_key() const override { return "size"; }

  void config(std::string_view key, std::string_view value) override {
    if (key == "size") {
      size_ = nbdkit::parse_size("size", value);
    } else if (key == "allocator") {
      allocator_ = memory::parse_allocator(value);
    } else if (key == "preload") {
      if (value.empty()) throw nbdkit::Error("preload: the file name is empty");
      preload_ = nbdkit::absolute_path(value);
    } else {
      throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
    }
  }

  void config_complete() override {
    if (!size_) throw nbdkit::Error("you must specify size=<SIZE> on the command line");
  }

  // The disk is made here so that a failure (no memory, mlock refused, a
  // bad preload image) stops nbdkit before it serves anything.
  void get_ready() override {
    disk_ = memory::make_allocator(allocator_, *size_);
    if (nbdkit::debug_flag("memory", "dir")) {
      disk_->set_page_freed_hook([](uint64_t offset, uint64_t length) {
        nbdkit::debug("memory: freed page of %" PRIu64 " bytes at offset %" PRIu64, length,
                      offset);
      });
    }
    if (!preload_.empty()) {
      try {
        memory::PreloadReporter reporter(preload_);
        const auto result = memory::preload_image(
            *disk_, *size_, preload_,
            [&reporter](uint64_t done, uint64_t total) { reporter.update(done, total); });
        reporter.finish(result);
      } catch (const std::bad_alloc&) {
        throw nbdkit::Error("preload: " + preload_ + ": out of memory", ENOMEM);
      }
    }
  }

  void after_fork() override { disk_->after_fork(); }
  void cleanup() override { disk_.reset(); }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return memory::open_allocator_disk(*disk_, *size_, "memory");
  }

 private:
  std::optional<uint64_t> size_;
  AllocatorChoice allocator_;
  std::string preload_;
  std::unique_ptr<Allocator> disk_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("memory", MemoryPlugin);
