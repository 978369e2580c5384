// nbdkit --filter=readahead: when a client reads sequentially, prefetches
// (cache requests to the layer below) the data after each read, on a
// thread of the connection's own, with a window that doubles while the
// reads stay sequential (nbdkit-readahead-filter(1)).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

constexpr uint64_t max_window = 32 * 1024 * 1024;
constexpr uint32_t max_prefetch_request = 4 * 1024 * 1024;

struct Range {
  uint64_t offset, end;
};

class ReadaheadContext final : public nbdkit::FilterContext {
 public:
  explicit ReadaheadContext(std::unique_ptr<nbdkit::Context> next)
      : FilterContext(std::move(next)), support_(this->next().can_cache()),
        size_(this->next().get_size()), worker_([this] { run(); }) {}
  ~ReadaheadContext() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const int err = next().pread(buf, count, offset, flags);
    if (err == 0) plan(offset, count);
    return err;
  }

 private:
  // Adapts the window and queues the prefetch of what follows the read.
  void plan(uint64_t offset, uint32_t count) {
    std::lock_guard lock(mutex_);
    const uint64_t end = offset + count;
    if (offset == last_end_) {
      window_ = std::min(max_window, std::max<uint64_t>(window_ * 2, count));
    } else {  // a jump: start again from a small window after this read
      window_ = count;
      prefetched_end_ = 0;
    }
    last_end_ = end;
    const uint64_t from = std::max(end, prefetched_end_);
    const uint64_t to = std::min(size_, end + window_);
    if (from >= to) return;
    pending_ = Range{from, to};  // newer plans replace older ones
    prefetched_end_ = to;
    wake_.notify_one();
  }

  void run() {
    std::vector<char> scratch;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || pending_; });
      if (stopping_) return;
      const Range r = *pending_;
      pending_.reset();
      lock.unlock();
      prefetch(r, scratch);
      lock.lock();
    }
  }

  // Errors only cost the prefetch; the client's own reads will report.
  void prefetch(Range r, std::vector<char>& scratch) {
    for (uint64_t pos = r.offset; pos < r.end;) {
      const auto n = static_cast<uint32_t>(std::min<uint64_t>(max_prefetch_request, r.end - pos));
      if (support_ == nbdkit::CacheSupport::native) {
        if (next().cache(n, pos, 0) != 0) return;
      } else {
        scratch.resize(n);
        if (next().pread(scratch.data(), n, pos, 0) != 0) return;
      }
      pos += n;
      std::lock_guard lock(mutex_);
      if (stopping_ || pending_) return;  // a newer plan supersedes this one
    }
  }

  const nbdkit::CacheSupport support_;
  const uint64_t size_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Range> pending_;
  uint64_t last_end_ = UINT64_MAX, window_ = 0, prefetched_end_ = 0;
  std::thread worker_;  // last: started once everything else exists
};

class ReadaheadFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  void get_ready() override {
    // Prefetching beside the client's requests needs the parallel model.
    if (nbdkit::server_thread_model() != nbdkit::ThreadModel::parallel) {
      nbdkit::error("readahead: the thread model is not parallel: the filter does nothing");
      enabled_ = false;
    }
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    if (!enabled_) return below;
    if (below->can_cache() == nbdkit::CacheSupport::none) {
      nbdkit::debug("readahead: the layer below cannot cache: not prefetching");
      return below;
    }
    return std::make_unique<ReadaheadContext>(std::move(below));
  }

 private:
  std::atomic<bool> enabled_ = true;
};

}  // namespace

NBDKIT_REGISTER_FILTER("readahead", ReadaheadFilter);
