// nbdkit data [data=]DATA | raw=BINARY | base64=BASE64 [size=SIZE]
//             [allocator=sparse|malloc[,mlock=true]|zstd] [NAME=VALUE]...
//
// A RAM disk (the memory plugin's allocators) filled at start-up from the
// command line (nbdkit-data-plugin(1)); every other NAME=VALUE is a
// variable for $NAME in the data string.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"
#include "allocator_choice.hpp"
#include "base64.hpp"
#include "evaluator.hpp"
#include "parser.hpp"

namespace {

using memory::Allocator;

// The top-level sink: the disk, keeping what falls beyond `limit` (size=)
// out of it.
class DiskSink final : public data::Sink {
 public:
  DiskSink(Allocator& disk, uint64_t limit) : disk_(disk), limit_(limit) {}
  void write(uint64_t offset, std::string_view bytes) override {
    if (offset >= limit_ || bytes.empty()) return;
    const uint64_t length = std::min<uint64_t>(bytes.size(), limit_ - offset);
    disk_.write(bytes.data(), length, offset);
    written_end_ = std::max(written_end_, offset + length);
  }
  void zero(uint64_t offset, uint64_t length) override {
    // Nothing was written past written_end_: the rest is zero already.
    if (offset >= written_end_) return;
    disk_.zero(std::min(length, written_end_ - offset), offset);
  }
  uint64_t written_end() const override { return written_end_; }

 private:
  Allocator& disk_;
  uint64_t limit_;
  uint64_t written_end_ = 0;
};

// Copies the data extents of `from` into `to` (which is all zeroes).
void copy_data(Allocator& from, Allocator& to, uint64_t size) {
  std::vector<char> buffer(1 << 20);
  from.extents(size, 0, false, [&](uint64_t offset, uint64_t length, uint32_t type) {
    if (type & nbdkit::extent::zero) return 0;
    for (uint64_t done = 0; done < length; done += buffer.size()) {
      const uint64_t piece = std::min<uint64_t>(buffer.size(), length - done);
      from.read(buffer.data(), piece, offset + done);
      to.write(buffer.data(), piece, offset + done);
    }
    return 0;
  });
}

class DataPlugin final : public nbdkit::Plugin {
 public:
  std::string config_help() const override {
    return "data|raw|base64=...     Specify disk data on the command line\n"
           "size=<SIZE>             Size of the backing disk\n"
           "allocator=sparse|malloc[,mlock=true]|zstd  Backend allocation strategy\n"
           "NAME=VALUE              A variable for $NAME in the data";
  }
  void dump_plugin(std::ostream& out) const override {
    out << "data_base64=yes\n"
        << "mlock=yes\n"
        << "zstd=yes\n";
  }
  bool data_calls_are_nonblocking() const override { return true; }
  const char* magic_config_key() const override { return "data"; }

  void config(std::string_view key, std::string_view value) override {
    if (key == "data" || key == "raw" || key == "base64") {
      ++sources_;
      source_key_ = key;
      source_ = value;
    } else if (key == "size") {
      size_ = nbdkit::parse_size("size", value);
    } else if (key == "allocator") {
      allocator_ = memory::parse_allocator(value);
    } else {
      // Like nbdkit, the first of several NAME=VALUE counts.
      variables_.emplace(std::string(key), std::string(value));
    }
  }

  void config_complete() override {
    if (sources_ == 0) throw nbdkit::Error("one of data=, raw= or base64= must be given");
    if (sources_ > 1) {
      throw nbdkit::Error("only one of data=, raw= and base64= may be given, and only once");
    }
  }

  // The disk is filled here so that a bad expression, file or script
  // stops nbdkit before it serves anything.
  void get_ready() override {
    if (source_key_ == "data") {
      fill_from_expression();
    } else {
      const std::string bytes = source_key_ == "raw" ? source_ : data::decode_base64(source_);
      disk_size_ = size_.value_or(bytes.size());
      disk_ = memory::make_allocator(allocator_, disk_size_);
      DiskSink sink(*disk_, disk_size_);
      sink.write(0, bytes);
    }
    nbdkit::debug("data: the disk is %llu bytes", static_cast<unsigned long long>(disk_size_));
  }

  void after_fork() override { disk_->after_fork(); }
  void cleanup() override { disk_.reset(); }

  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return memory::open_allocator_disk(*disk_, disk_size_, "data");
  }

 private:
  void fill_from_expression() {
    const data::NodePtr tree =
        data::parse(source_, [this](const std::string& name) -> std::optional<std::string> {
          if (const auto it = variables_.find(name); it != variables_.end()) return it->second;
          if (const char* value = std::getenv(name.c_str())) return std::string(value);
          return std::nullopt;
        });
    if (nbdkit::debug_flag("data", "tree")) nbdkit::debug("data: %s", data::describe(*tree).c_str());

    // Without size= the size is known only at the end: evaluate into a
    // sparse disk as large as can be, which a sparse disk can be for free.
    const bool staged = !size_ && allocator_.type != "sparse";
    std::unique_ptr<Allocator> target =
        size_ && !staged ? memory::make_allocator(allocator_, *size_)
                         : memory::make_sparse_allocator(data::max_offset);
    DiskSink sink(*target, size_.value_or(data::max_offset));
    const uint64_t natural_size = data::evaluate(*tree, sink);
    disk_size_ = size_.value_or(natural_size);
    if (staged) {
      disk_ = memory::make_allocator(allocator_, disk_size_);
      copy_data(*target, *disk_, disk_size_);
    } else {
      disk_ = std::move(target);
    }
  }

  int sources_ = 0;
  std::string source_key_;
  std::string source_;
  std::optional<uint64_t> size_;
  memory::AllocatorChoice allocator_;
  std::map<std::string, std::string, std::less<>> variables_;
  uint64_t disk_size_ = 0;
  std::unique_ptr<Allocator> disk_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("data", DataPlugin);
