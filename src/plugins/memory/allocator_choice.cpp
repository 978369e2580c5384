#include "allocator_choice.hpp"

#include <cerrno>
#include <exception>
#include <new>
#include <optional>

namespace memory {

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

std::unique_ptr<Allocator> make_allocator(const AllocatorChoice& choice, uint64_t size) {
  if (choice.type == "malloc") return make_malloc_allocator(size, choice.lock_in_ram);
  if (choice.type == "zstd") return make_zstd_allocator(size);
  return make_sparse_allocator(size);
}

namespace {

// Data calls report failures as errno values.
template <typename Fn>
int as_errno(const char* name, const char* what, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const std::bad_alloc&) {
    nbdkit::error("%s: %s: out of memory", name, what);
    return ENOMEM;
  } catch (const nbdkit::Error& e) {
    nbdkit::error("%s: %s: %s", name, what, e.what());
    return e.errno_value;
  } catch (const std::exception& e) {
    nbdkit::error("%s: %s: %s", name, what, e.what());
    return EIO;
  }
}

class AllocatorDisk final : public nbdkit::Context {
 public:
  AllocatorDisk(Allocator& disk, uint64_t size, const char* name)
      : disk_(disk), size_(size), name_(name) {}

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
    return as_errno(name_, "read", [&] { disk_.read(buf, count, offset); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno(name_, "write", [&] { disk_.write(buf, count, offset); });
  }
  int flush(uint32_t) override { return 0; }
  int cache(uint32_t, uint64_t, uint32_t) override { return 0; }
  int trim(uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno(name_, "trim", [&] { disk_.zero(count, offset); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t) override {
    return as_errno(name_, "zero", [&] { disk_.zero(count, offset); });
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    int result = 0;
    const int err = as_errno(name_, "extents", [&] {
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
  const char* name_;
};

}  // namespace

std::unique_ptr<nbdkit::Context> open_allocator_disk(Allocator& disk, uint64_t size,
                                                      const char* name) {
  return std::make_unique<AllocatorDisk>(disk, size, name);
}

}  // namespace memory
