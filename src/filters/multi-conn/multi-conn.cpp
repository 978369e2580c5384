// nbdkit --filter=multi-conn: makes flushes consistent across connections
// for plugins that are not (multi-conn-mode=emulate replays each flush on
// every connection), or changes what is advertised, and skips flushes
// when nothing was written (multi-conn-track-dirty=)
// (nbdkit-multi-conn-filter(1)).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "../common/choice.hpp"

namespace {

enum class Mode { automatic, emulate, disable, plugin, unsafe };
enum class Track { fast, connection, off };

class MultiConnContext;

// Every open connection, for replaying flushes.
struct Shared {
  Mode mode = Mode::automatic;
  Track track = Track::connection;
  bool by_exportname = false;
  std::mutex mutex;
  std::vector<MultiConnContext*> contexts;
  std::atomic<bool> dirty{false};  // track=fast: written since the last flush
};

class MultiConnContext final : public nbdkit::FilterContext {
 public:
  MultiConnContext(std::unique_ptr<nbdkit::Context> next, Shared& shared, Mode mode,
                   std::string_view exportname)
      : FilterContext(std::move(next)), s_(shared), mode_(mode), export_(exportname) {
    std::lock_guard lock(s_.mutex);
    s_.contexts.push_back(this);
  }
  ~MultiConnContext() override {
    std::lock_guard lock(s_.mutex);
    s_.contexts.erase(std::find(s_.contexts.begin(), s_.contexts.end(), this));
  }

  bool can_multi_conn() override {
    switch (mode_) {
      case Mode::emulate:
      case Mode::unsafe: return true;
      case Mode::disable: return false;
      default: return next().can_multi_conn();
    }
  }
  // A FUA write must reach every connection: the server then flushes
  // through this filter after the write.
  nbdkit::FuaSupport can_fua() override {
    const auto below = next().can_fua();
    return mode_ == Mode::emulate && below != nbdkit::FuaSupport::none
               ? nbdkit::FuaSupport::emulate
               : below;
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    read_ = true;  // this connection may now hold stale cached data
    return next().pread(buf, count, offset, flags);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    mark_dirty();
    return next().pwrite(buf, count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    mark_dirty();
    return next().zero(count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    mark_dirty();
    return next().trim(count, offset, flags);
  }

  int flush(uint32_t flags) override {
    if (s_.track == Track::fast && !s_.dirty.exchange(false)) return 0;
    if (mode_ != Mode::emulate) return flush_if_needed(flags, true);
    // Contexts cannot go away while the list is locked.
    std::lock_guard lock(s_.mutex);
    for (MultiConnContext* other : s_.contexts) {
      if (s_.by_exportname && other->export_ != export_) continue;
      if (const int err = other->flush_if_needed(flags, other == this)) return err;
    }
    return 0;
  }

 private:
  void mark_dirty() {
    if (s_.track == Track::fast)
      s_.dirty = true;
    else
      dirty_ = true;
  }
  // Flushes this connection's layer below unless connection tracking
  // shows it has nothing to flush.
  int flush_if_needed(uint32_t flags, bool own) {
    if (s_.track == Track::connection && !dirty_ && !(read_ && !own)) return 0;
    dirty_ = false;
    read_ = false;
    return next().flush(flags);
  }

  Shared& s_;
  const Mode mode_;
  const std::string export_;
  std::atomic<bool> dirty_{false}, read_{false};
};

class MultiConnFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "multi-conn-mode=<MODE>        'auto' (default), 'emulate', 'plugin',\n"
           "                              'disable', 'unsafe'.\n"
           "multi-conn-track-dirty=<LEVEL> 'connection' (default), 'fast', 'off'.\n"
           "multi-conn-exportname=<BOOL>  true to limit emulation by export name.";
  }
  bool config(std::string_view key, std::string_view value) override {
    using nbdkit::filters::parse_choice;
    if (key == "multi-conn-mode") {
      s_.mode = parse_choice<Mode>(key, value,
                                   {{"auto", Mode::automatic}, {"emulate", Mode::emulate},
                                    {"disable", Mode::disable}, {"plugin", Mode::plugin},
                                    {"unsafe", Mode::unsafe}},
                                   "multi-conn mode");
    } else if (key == "multi-conn-track-dirty") {
      s_.track = parse_choice<Track>(
          key, value,
          {{"fast", Track::fast}, {"connection", Track::connection}, {"conn", Track::connection},
           {"off", Track::off}},
          "multi-conn track-dirty setting");
    } else if (key == "multi-conn-exportname" || key == "multi-conn-export-name") {
      s_.by_exportname = nbdkit::parse_bool(key, value);
    } else {
      return false;
    }
    return true;
  }
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    Mode mode = s_.mode;
    if (mode == Mode::automatic) {
      if (nbdkit::server_thread_model() == nbdkit::ThreadModel::serialize_connections)
        mode = Mode::disable;
      else
        mode = below->can_multi_conn() ? Mode::plugin : Mode::emulate;
    }
    if (mode == Mode::emulate && !below->can_flush())
      throw nbdkit::Error("multi-conn-mode=emulate requires plugin flush support");
    return std::make_unique<MultiConnContext>(std::move(below), s_, mode, exportname);
  }

 private:
  Shared s_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("multi-conn", MultiConnFilter);
