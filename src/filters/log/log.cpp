// nbdkit --filter=log: writes one line per lifecycle event and connection
// and two per request (call and result) to `logfile=`, in nbdkit's
// format (nbdkit-log-filter(1)).
#include <unistd.h>

#include <atomic>
#include <string>

#include <nbdkit/plugin.hpp>

#include "log_file.hpp"

namespace {

using nbdkit::filters::log::errno_name;
using nbdkit::filters::log::hex;
using nbdkit::filters::log::LogFile;
using nbdkit::filters::log::shell_quoted;

std::string flag(bool value) { return value ? "1" : "0"; }

std::string extent_type_name(uint32_t type) {
  std::string name;
  if (type & nbdkit::extent::hole) name = "hole";
  if (type & nbdkit::extent::zero) name += name.empty() ? "zero" : ",zero";
  return shell_quoted(name);
}

std::string result_text(int err) {
  return err == 0 ? "return=0" : "return=-1 error=" + errno_name(err);
}

// The connection number given at preconnect, for the open that follows
// on the same thread.
thread_local uint64_t preconnect_number = 0;

class LogContext final : public nbdkit::FilterContext {
 public:
  LogContext(std::unique_ptr<nbdkit::Context> next, LogFile& log, uint64_t connection)
      : FilterContext(std::move(next)),
        log_(log),
        prefix_("connection=" + std::to_string(connection) + " ") {}
  ~LogContext() override {
    log_.line(prefix_ + "Disconnect transactions=" + std::to_string(ids_.load()));
  }

  void log_connect(std::string_view exportname, bool tls, bool readonly) {
    const auto sizes = block_size();
    const bool writable = !readonly && can_write();
    log_.line(prefix_ + "Connect export=" + shell_quoted(exportname) + " tls=" + flag(tls) +
              " size=" + hex(get_size()) + " minsize=" + hex(sizes ? sizes->minimum : 0) +
              " prefsize=" + hex(sizes ? sizes->preferred : 0) +
              " maxsize=" + hex(sizes ? sizes->maximum : 0) + " write=" + flag(writable) +
              " flush=" + flag(can_flush()) + " rotational=" + flag(is_rotational()) +
              " trim=" + flag(writable && can_trim()) +
              " zero=" + std::to_string(writable ? (can_zero() ? 2 : 1) : 0) +
              " fua=" + std::to_string(writable ? static_cast<int>(can_fua()) : 0) +
              " extents=" + flag(can_extents()) +
              " cache=" + std::to_string(static_cast<int>(can_cache())) +
              " fast_zero=" + flag(writable && can_fast_zero()));
  }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return logged("Read", range(count, offset),
                  [&] { return next().pread(buf, count, offset, flags); });
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    return logged("Write", range(count, offset) + fua(flags),
                  [&] { return next().pwrite(buf, count, offset, flags); });
  }
  int flush(uint32_t flags) override {
    return logged("Flush", "", [&] { return next().flush(flags); });
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    return logged("Trim", range(count, offset) + fua(flags),
                  [&] { return next().trim(count, offset, flags); });
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    const std::string args = range(count, offset) +
                             " trim=" + flag(flags & nbdkit::flags::may_trim) + fua(flags) +
                             " fast=" + flag(flags & nbdkit::flags::fast_zero);
    return logged("Zero", args, [&] { return next().zero(count, offset, flags); });
  }
  int extents(uint32_t count, uint64_t offset, uint32_t flags,
              nbdkit::ExtentList& out) override {
    const std::string args = range(count, offset) + " req_one=" + flag(flags & nbdkit::flags::req_one);
    return logged(
        "Extents", args, [&] { return next().extents(count, offset, flags, out); },
        [&] { return "extents=(" + extent_list(out) + ") "; });
  }
  int cache(uint32_t count, uint64_t offset, uint32_t flags) override {
    return logged("Cache", range(count, offset),
                  [&] { return next().cache(count, offset, flags); });
  }

 private:
  static std::string range(uint32_t count, uint64_t offset) {
    return "offset=" + hex(offset) + " count=" + hex(count);
  }
  static std::string fua(uint32_t flags) { return " fua=" + flag(flags & nbdkit::flags::fua); }

  static std::string extent_list(const nbdkit::ExtentList& list) {
    std::string text;
    for (const nbdkit::Extent& e : list.extents()) {
      if (!text.empty()) text += ' ';
      text += hex(e.offset) + ' ' + hex(e.length) + ' ' + extent_type_name(e.type);
    }
    return text;
  }

  template <typename Call, typename Detail = std::string (*)()>
  int logged(const char* action, const std::string& args, Call&& call,
             Detail&& detail = [] { return std::string(); }) {
    const std::string id = " id=" + std::to_string(++ids_);
    log_.line(prefix_ + action + id + (args.empty() ? "" : " " + args) + " ...");
    const int err = call();
    log_.line(prefix_ + "..." + action + id + " " + (err == 0 ? detail() : "") +
              result_text(err));
    return err;
  }

  LogFile& log_;
  const std::string prefix_;
  std::atomic<uint64_t> ids_{0};
};

class LogFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "logfile=<FILE>               The file to place the log in.\n"
           "logappend=<BOOL>             True to append to the log (default false).";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "logfile")
      path_ = nbdkit::absolute_path(value);
    else if (key == "logappend")
      append_ = nbdkit::parse_bool(key, value);
    else if (key == "logscript")
      throw nbdkit::Error("logscript is not supported by this nbdkit (use logfile=)");
    else
      return false;
    return true;
  }

  void config_complete() override {
    if (!path_.empty()) log_.open(path_, append_);
  }
  void get_ready() override {
    ready_pid_ = ::getpid();
    log_.line("Ready thread_model=" + std::to_string(static_cast<int>(nbdkit::server_thread_model())));
  }
  // Only a process that really forked (into the background, or for
  // --run) logs it, as nbdkit does.
  void after_fork() override {
    if (::getpid() != ready_pid_) log_.line("Fork");
  }

  void preconnect_chained(const nbdkit::PreconnectNext& next, bool readonly) override {
    preconnect_number = ++connections_;
    const std::string id = " id=" + std::to_string(preconnect_number);
    log_.line("Preconnect" + id + " readonly=" + flag(readonly) + " ...");
    try {
      next(readonly);
    } catch (const nbdkit::Error& e) {
      log_.line("...Preconnect" + id + " " + result_text(e.errno_value));
      throw;
    }
    log_.line("...Preconnect" + id + " return=0");
  }

  std::vector<nbdkit::ExportInfo> list_exports(const nbdkit::ListExportsNext& next,
                                               bool readonly, bool is_tls) override {
    const std::string id = " id=" + std::to_string(++list_calls_);
    log_.line("ListExports" + id + " readonly=" + flag(readonly) + " tls=" + flag(is_tls) +
              " ...");
    std::vector<nbdkit::ExportInfo> exports;
    try {
      exports = next(readonly, is_tls);
    } catch (const nbdkit::Error& e) {
      log_.line("...ListExports" + id + " " + result_text(e.errno_value));
      throw;
    }
    std::string names;
    for (const auto& e : exports) names += (names.empty() ? "" : " ") + shell_quoted(e.name);
    log_.line("...ListExports" + id + " exports=(" + names + ") return=0");
    return exports;
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool is_tls) override {
    if (!log_.is_open()) return next(readonly, exportname);
    auto context = std::make_unique<LogContext>(next(readonly, exportname), log_,
                                                preconnect_number);
    context->log_connect(exportname, is_tls, readonly);
    return context;
  }

 private:
  std::string path_;
  bool append_ = false;
  LogFile log_;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> list_calls_{0};
  pid_t ready_pid_ = 0;
};

}  // namespace

NBDKIT_REGISTER_FILTER("log", LogFilter);
