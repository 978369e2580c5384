// nbdkit --filter=tar: serves one member of an uncompressed tar archive
// provided by the layer below, read and written in place
// (nbdkit-tar-filter(1)).  The member is found by reading the archive's
// headers (tar_index.cpp), not by running tar.
#include <mutex>
#include <optional>

#include <nbdkit/plugin.hpp>

#include "tar_index.hpp"

namespace {

class TarFilter final : public nbdkit::Filter {
 public:
  // Adds no waiting of its own: the layers below decide.
  bool data_calls_are_nonblocking() const override { return true; }

  std::string config_help() const override {
    return "tar-entry=<PATH>    (required) The path inside the tar file to serve.\n"
           "tar-limit=<SIZE>    How far into the tar file to look for it (default: no limit).\n"
           "tar=<TAR>           Accepted for compatibility; headers are read directly.";
  }

  bool config(std::string_view key, std::string_view value) override {
    if (key == "tar-entry")
      entry_ = value;
    else if (key == "tar-limit")
      limit_ = nbdkit::parse_size(key, value);
    else if (key == "tar")
      ;  // nbdkit runs GNU tar to list the archive; this filter needs none.
    else
      return false;
    return true;
  }

  void config_complete() override {
    if (entry_.empty()) throw nbdkit::Error("tar: you must supply the tar-entry=<PATH> parameter");
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    auto below = next(readonly, exportname);
    const auto member = locate(*below);
    return std::make_unique<nbdkit::filters::RangeContext>(std::move(below), member.offset,
                                                           member.size);
  }

 private:
  // The archive cannot change size under us (nbdkit makes the same
  // assumption), so the search runs once, not on every connection.
  nbdkit::filters::TarMember locate(nbdkit::Context& archive) {
    std::lock_guard lock(mutex_);
    if (!member_) {
      member_ = nbdkit::filters::find_tar_member(nbdkit::filters::reader_of(archive),
                                                 archive.get_size(), entry_, limit_);
      nbdkit::debug("tar: %s: offset %llu, size %llu", entry_.c_str(),
                    static_cast<unsigned long long>(member_->offset),
                    static_cast<unsigned long long>(member_->size));
    }
    return *member_;
  }

  std::string entry_;
  uint64_t limit_ = 0;
  std::mutex mutex_;
  std::optional<nbdkit::filters::TarMember> member_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("tar", TarFilter);
