// nbdkit --filter=extentlist: serves extents read from a text file
// instead of the plugin's (nbdkit-extentlist-filter(1)).  Each line is
// "offset length [type]", type a number or words hole,zero; gaps between
// the extents listed are holes that read as zeroes.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

#include <nbdkit/plugin.hpp>

namespace {

struct Entry {
  uint64_t offset, length;
  uint32_t type;
};

uint32_t parse_type(const std::string& text, const std::string& where) {
  if (text.empty()) return nbdkit::extent::data;
  if (std::isdigit(static_cast<unsigned char>(text[0])))
    return static_cast<uint32_t>(nbdkit::parse_uint32("extentlist type", text));
  uint32_t type = 0;
  std::istringstream words(text);
  std::string word;
  while (std::getline(words, word, ',')) {
    if (word == "hole")
      type |= nbdkit::extent::hole;
    else if (word == "zero")
      type |= nbdkit::extent::zero;
    else
      throw nbdkit::Error(where + ": unknown extent type '" + word + "'");
  }
  return type;
}

std::vector<Entry> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nbdkit::Error(path + ": cannot open", errno ? errno : ENOENT);
  std::vector<Entry> list;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string offset, length, type;
    if (!(fields >> offset) || offset[0] == '#') continue;  // blank or comment
    const std::string where = path + ":" + std::to_string(number);
    if (!(fields >> length)) throw nbdkit::Error(where + ": missing length");
    fields >> type;
    const Entry e{nbdkit::parse_size("extentlist offset", offset),
                  nbdkit::parse_size("extentlist length", length), parse_type(type, where)};
    if (e.length > 0) list.push_back(e);
  }
  std::sort(list.begin(), list.end(),
            [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < list.size(); ++i)
    if (list[i - 1].offset + list[i - 1].length > list[i].offset)
      throw nbdkit::Error(path + ": extents overlap at offset " + std::to_string(list[i].offset));
  return list;
}

class ExtentListContext final : public nbdkit::FilterContext {
 public:
  ExtentListContext(std::unique_ptr<nbdkit::Context> next, const std::vector<Entry>& list)
      : FilterContext(std::move(next)), list_(list) {}

  bool can_extents() override { return true; }
  int extents(uint32_t count, uint64_t offset, uint32_t, nbdkit::ExtentList& out) override {
    constexpr uint32_t gap = nbdkit::extent::hole | nbdkit::extent::zero;
    const uint64_t end = offset + count;
    // The first entry ending after offset.
    auto it = std::upper_bound(list_.begin(), list_.end(), offset,
                               [](uint64_t at, const Entry& e) { return at < e.offset + e.length; });
    uint64_t at = offset;
    for (; at < end && it != list_.end(); ++it) {
      if (it->offset > at) {
        if (const int err = out.add(at, it->offset - at, gap)) return err;
        at = it->offset;
      }
      if (const int err = out.add(at, it->offset + it->length - at, it->type)) return err;
      at = it->offset + it->length;
    }
    if (at < end) return out.add(at, end - at, gap);
    return 0;
  }

 private:
  const std::vector<Entry>& list_;
};

class ExtentListFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "extentlist=<FILENAME>  (required) File containing the list of extents.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key != "extentlist") return false;
    path_ = nbdkit::absolute_path(value);
    return true;
  }
  void config_complete() override {
    if (path_.empty()) throw nbdkit::Error("you must supply the extentlist parameter");
  }
  void get_ready() override { list_ = read_list(path_); }
  bool data_calls_are_nonblocking() const override { return true; }
  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<ExtentListContext>(next(readonly, exportname), list_);
  }

 private:
  std::string path_;
  std::vector<Entry> list_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("extentlist", ExtentListFilter);
