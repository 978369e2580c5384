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
#include "preload.hpp"
#include "preload_progress.hpp"

NBDKIT_DEBUG_FLAG("memory", "dir");

namespace {

using memory::Allocator;

struct AllocatorChoice {
  std::string type = "sparse";
  bool lock_in_ram = false;
};

// TYPE[,key[=value]]...; a key without a value means "1".  Like nbdkit,
// an empty TYPE means the default and empty parameters are ignored.
AllocatorChoice parse_allocator(std::string_view text) {
  AllocatorChoice choice;
  const std::size_t comma = text.find(',');
  if (comma != 0 && !text.empty()) choice.type = std::string(text.substr(0, comma));
  if (choice.type != "sparse" && choice.type != "malloc" && choice.type != "zstd") {
    throw nbdkit::Error("unknown allocator \"" + choice.type +
                        "\" (expected sparse, malloc or zstd)");
  }
  std::string_view rest = comma == std::string_view::npos ? "" : text.substr(comma + 1);
  while (!rest.empty()) {
    const std::size_t next = rest.find(',');
    const std::string_view parameter = rest.substr(0, next);
    rest = next == std::string_view::npos ? "" : rest.substr(next + 1);
    if (parameter.empty()) continue;
    const std::size_t equals = parameter.find('=');
    const std::string_view key = parameter.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? "1" : parameter.substr(equals + 1);
    if (choice.type != "malloc") {
      throw nbdkit::Error("allocator=" + choice.type + " does not take extra parameters");
    }
    if (key != "mlock") {
      throw nbdkit::Error("allocator=malloc: unknown parameter \"" + std::string(key) +
                          "\" (only mlock=true|false is accepted)");
    }
    choice.lock_in_ram = nbdkit::parse_bool("allocator=malloc,mlock", value);
  }
  return choice;
}

// Data calls report failures as errno values.
template <typename Fn>
int as_errno(const char* what, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const std::bad_alloc&) {
    nbdkit::error("memory: %s: out of memory", what);
    return ENOMEM;
  } catch (const nbdkit::Error& e) {
    nbdkit::error("memory: %s: %s", what, e.what());
    return e.errno_value;
  } catch (const std::exception& e) {
    nbdkit::error("memory: %s: %s", what, e.what());
    return EIO;
  }
}

class MemoryDisk final : public nbdkit::Context {
 public:
  MemoryDisk(Allocator& disk, uint64_t size) : disk_(disk), size_(size) {}

  uint64_t get_size() override { return size_; }
  std::optional<nbdkit::BlockSize> block_size() override {
    return nbdkit::BlockSize{1, disk_.page_size(), 0xffffffff};
  }
  bool can_write() override { return true; }
  // Nothing to flush: the disk is the memory.
  bool can_flush() override { return true; }
  bool can_trim() override { return true; }
  bool can_zero() override { return true; }
  // Zeroing never falls back to writing zeroes.
  bool can_fast_zero() override { return true; }
  bool can_extents() override { return true; }
  nbdkit::FuaSupport can_fua() override { return nbdkit::FuaSupport::native; }
  // Every connection sees the same disk at once.
  bool can_multi_conn() override { return true; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::native; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno("read", [&] { disk_.read(buf, count, offset); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno("write", [&] { disk_.write(buf, count, offset); });
  }
  int flush(uint32_t) override { return 0; }
  int cache(uint32_t, uint64_t, uint32_t) override { return 0; }
  int trim(uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno("trim", [&] { disk_.zero(count, offset); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno("zero", [&] { disk_.zero(count, offset); });
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    int result = 0;
    const int err = as_errno("extents", [&] {
      result = disk_.extents(count, offset, (flags & nbdkit::flags::req_one) != 0,
                             [&](uint64_t at, uint64_t length, uint32_t type) {
                               return out.add(at, length, type);
                             });
    });
    return err ? err : result;
  }

 private:
  Allocator& disk_;
  uint64_t size_;
};

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
      allocator_ = parse_allocator(value);
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
    if (allocator_.type == "malloc") {
      disk_ = memory::make_malloc_allocator(*size_, allocator_.lock_in_ram);
    } else if (allocator_.type == "zstd") {
      disk_ = memory::make_zstd_allocator(*size_);
    } else {
      disk_ = memory::make_sparse_allocator(*size_);
    }
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
    return std::make_unique<MemoryDisk>(*disk_, *size_);
  }

 private:
  std::optional<uint64_t> size_;
  AllocatorChoice allocator_;
  std::string preload_;
  std::unique_ptr<Allocator> disk_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("memory", MemoryPlugin);
