// nbdkit --filter=ddrescue: serves a disk image recovered by GNU ddrescue
// read-only, failing reads (EIO) that touch blocks its mapfile does not
// mark as rescued ('+') (nbdkit-ddrescue-filter(1)).
#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

struct Bad {
  uint64_t offset, end;
};

// The mapfile: comments (#), a status line "pos status [pass]", then
// "pos size status" lines in hex.
std::vector<Bad> read_mapfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nbdkit::Error(path + ": cannot open", errno ? errno : ENOENT);
  std::vector<Bad> bad;
  std::string line;
  bool status_line_seen = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string pos, size, status;
    if (!(fields >> pos) || pos[0] == '#') continue;
    if (!status_line_seen) {
      status_line_seen = true;
      continue;
    }
    if (!(fields >> size >> status) || status.size() != 1)
      throw nbdkit::Error(path + ": cannot parse line: " + line);
    if (status == "+") continue;
    const uint64_t offset = nbdkit::parse_uint64("ddrescue pos", pos);
    bad.push_back({offset, offset + nbdkit::parse_uint64("ddrescue size", size)});
  }
  std::sort(bad.begin(), bad.end(), [](const Bad& a, const Bad& b) { return a.offset < b.offset; });
  return bad;
}

class DdrescueContext final : public nbdkit::FilterContext {
 public:
  DdrescueContext(std::unique_ptr<nbdkit::Context> next, const std::vector<Bad>& bad)
      : FilterContext(std::move(next)), bad_(bad) {}

  bool can_write() override { return false; }
  nbdkit::CacheSupport can_cache() override { return nbdkit::CacheSupport::none; }
  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    const uint64_t end = offset + count;
    for (const Bad& b : bad_) {
      if (b.offset >= end) break;
      if (b.end > offset) return EIO;
    }
    return next().pread(buf, count, offset, flags);
  }

 private:
  const std::vector<Bad>& bad_;
};

class DdrescueFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "ddrescue-mapfile=<FILENAME>  (required) The ddrescue mapfile.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "ddrescue-mapfile") return false;
    path_ = nbdkit::absolute_path(value);
    return true;
  }
  void config_complete() override {
    if (path_.empty()) throw nbdkit::Error("you must supply the ddrescue-mapfile parameter");
    bad_ = read_mapfile(path_);
  }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool,
                                        std::string_view exportname, bool) override {
    return std::make_unique<DdrescueContext>(next(true, exportname), bad_);
  }

 private:
  std::string path_;
  std::vector<Bad> bad_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("ddrescue", DdrescueFilter);
