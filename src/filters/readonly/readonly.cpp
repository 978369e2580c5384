// nbdkit --filter=readonly: a read-only export, always or while a file
// exists (nbdkit-readonly-filter(1)).  Without readonly-file= the layers
// below are opened read-only and the export says it cannot be written,
// as with -r.  With readonly-file=PATH the export stays writable and each
// write, zero or trim looks for PATH: while it exists they fail with
// EPERM, so an administrator can write-protect a disk at run time.
#include <unistd.h>

#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

namespace {

class ReadonlyContext final : public nbdkit::FilterContext {
 public:
  ReadonlyContext(std::unique_ptr<nbdkit::Context> next, const std::optional<std::string>& file)
      : FilterContext(std::move(next)), file_(file) {}

  bool can_write() override { return file_ && next().can_write(); }

  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = refusal("write")) return err;
    return next().pwrite(buf, count, offset, flags);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = refusal("zero")) return err;
    return next().zero(count, offset, flags);
  }
  int trim(uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = refusal("trim")) return err;
    return next().trim(count, offset, flags);
  }

 private:
  // EPERM while the export is read-only, else 0.  The file is looked up
  // on every request: creating or removing it takes effect at once, for
  // clients already connected too.
  int refusal(const char* request) const {
    if (file_ && ::access(file_->c_str(), F_OK) != 0) return 0;
    nbdkit::debug("readonly: %s refused, the export is read-only", request);
    return EPERM;
  }

  const std::optional<std::string>& file_;
};

class ReadonlyFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "readonly-file=<FILENAME>  Read-only while this file exists (default: always).";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "readonly-file") return false;
    if (file_) throw nbdkit::Error("readonly-file parameter appears more than once");
    if (value.empty()) throw nbdkit::Error("readonly-file parameter must not be empty");
    // The server may change directory once it is a daemon.
    file_ = nbdkit::absolute_path(value);
    return true;
  }
  // Looking the file up is a system call that may block (network file
  // systems); without it, nothing here waits.
  bool data_calls_are_nonblocking() const override { return !file_; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    // Always read-only: the plugin need not open for writing at all.
    return std::make_unique<ReadonlyContext>(next(readonly || !file_, exportname), file_);
  }

 private:
  std::optional<std::string> file_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("readonly", ReadonlyFilter);
