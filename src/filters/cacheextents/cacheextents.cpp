// nbdkit --filter=cacheextents: remembers the last extents the layer
// below returned, so that a client asking for one extent at a time over a
// range the plugin already described gets its answer without another
// call (nbdkit-cacheextents-filter(1)).  Any write forgets them.
#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

// Shared by all connections, like the plugin's view of the disk.
struct ExtentCache {
  std::mutex mutex;
  std::vector<nbdkit::Extent> extents;  // contiguous, possibly empty

  // Copies what the cache knows from `offset` on into `out`; false if
  // it does not cover `offset`.
  bool lookup(uint64_t offset, nbdkit::ExtentList& out) {
    std::lock_guard lock(mutex);
    if (extents.empty() || offset < extents.front().offset ||
        offset >= extents.back().offset + extents.back().length)
      return false;
    for (const auto& e : extents)
      if (e.offset + e.length > offset && out.add(e.offset, e.length, e.type) != 0) return false;
    return true;
  }
  void store(const nbdkit::ExtentList& list) {
    std::lock_guard lock(mutex);
    extents = list.extents();
  }
  void forget() {
    std::lock_guard lock(mutex);
    extents.clear();
  }
};

class CacheextentsContext final : public nbdkit::FilterContext {
 public:
  CacheextentsContext(std::unique_ptr<nbdkit::Context> next, ExtentCache& cache)
      : FilterContext(std::move(next)), cache_(cache) {}

  int extents(uint32_t count, uint64_t offset, uint32_t flags, nbdkit::ExtentList& out) override {
    if (cache_.lookup(offset, out)) return 0;
    out.clear();
    // Ask for everything the plugin will give, whatever the client wanted.
    const uint64_t size = next().get_size();
    const auto whole = static_cast<uint32_t>(std::min<uint64_t>(size - offset, UINT32_MAX));
    nbdkit::ExtentList all(offset, offset + std::max(count, whole));
    if (const int err = next().extents(std::max(count, whole), offset, flags & ~nbdkit::flags::req_one, all))
      return err;
    cache_.store(all);
    for (const auto& e : all.extents())
      if (const int err = out.add(e.offset, e.length, e.type)) return err;
    return 0;
  }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    cache_.forget();
    return next().pwrite(buf, count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    cache_.forget();
    return next().trim(count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    cache_.forget();
    return next().zero(count, offset, flags);
  }

 private:
  ExtentCache& cache_;
};

class CacheextentsFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<CacheextentsContext>(next(readonly, exportname), cache_);
  }

 private:
  ExtentCache cache_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("cacheextents", CacheextentsFilter);
