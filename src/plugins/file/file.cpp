// nbdkit file [file=]FILENAME | dir=DIR | fd=N | dirfd=N
//   [cache=default|none] [fadvise=normal|random|sequential]
// Serves a regular file or block device, or in directory mode every such
// file in a directory, the client choosing one by export name
// (nbdkit-file-plugin(1)).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <nbdkit/plugin.hpp>

#include "file_disk.hpp"
#include "storage.hpp"

namespace {

using file_plugin::CacheMode;
using file_plugin::FileDisk;
using file_plugin::OpenFile;

enum class Source { none, file, dir, fd, dirfd };

std::string errno_text(int err) { return std::strerror(err); }

// Opens `name` (relative to `at`) for serving: read-write unless the
// client or -r wants read-only, falling back to read-only where the file
// may not be written, as nbdkit does.
OpenFile open_for_serving(int at, const std::string& name, bool readonly) {
  OpenFile file;
  file.name = name;
  file.writable = !readonly;
  file.fd = ::openat(at, name.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (file.fd == -1 && !readonly && (errno == EACCES || errno == EROFS || errno == EPERM)) {
    nbdkit::debug("%s: cannot open it for writing, serving it read-only", name.c_str());
    file.writable = false;
    file.fd = ::openat(at, name.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (file.fd == -1) {
    const int err = errno;
    throw nbdkit::Error("open: " + name + ": " + errno_text(err), err);
  }
  return file;
}

class FilePlugin final : public nbdkit::Plugin {
 public:
  ~FilePlugin() override {
    if (dir_fd_ != -1 && source_ == Source::dir) ::close(dir_fd_);
  }

  std::string config_help() const override {
    return "[file=]<FILENAME>     The file or block device to serve.\n"
           "dir=<DIRNAME>         Serve every file in the directory, chosen by export name.\n"
           "fd=<N>                Serve the file or device open on descriptor N.\n"
           "dirfd=<N>             Like dir=, for the directory open on descriptor N.\n"
           "cache=default|none    none: keep the file's data out of the page cache.\n"
           "fadvise=normal|random|sequential\n"
           "                      Access pattern hint for the kernel.";
  }
  const char* magic_config_key() const override { return "file"; }

  void dump_plugin(std::ostream& out) const override {
    out << "file_blksszget=yes\nfile_blkzeroout=yes\nfile_extents=yes\n"
           "file_falloc_fl_punch_hole=yes\nfile_falloc_fl_zero_range=yes\n";
  }

  // Reads and writes of a file in memory (tmpfs) complete without waiting
  // for a device, so the server runs them on the connection's thread.
  bool data_calls_are_nonblocking() const override { return memory_backed_; }

  void config(std::string_view key, std::string_view value) override;
  void config_complete() override;
  std::vector<nbdkit::ExportInfo> list_exports(bool, bool) override;
  std::unique_ptr<nbdkit::Context> open(bool readonly, std::string_view exportname,
                                        bool) override;

 private:
  void set_source(Source source, std::string_view key);
  int parse_descriptor(std::string_view key, std::string_view value);
  void check_file_source();
  void check_dir_source();
  OpenFile open_export(bool readonly, std::string_view exportname) const;
  void check_dir_entry(const std::string& name) const;

  Source source_ = Source::none;
  std::string path_;  // file= or dir=, made absolute
  int given_fd_ = -1;  // fd=
  int dir_fd_ = -1;    // dir= (opened here) or dirfd=
  CacheMode cache_ = CacheMode::normal;
  int fadvice_ = POSIX_FADV_NORMAL;
  bool memory_backed_ = false;
};

void FilePlugin::set_source(Source source, std::string_view key) {
  if (source_ != Source::none)
    throw nbdkit::Error("only one of file=, dir=, fd= or dirfd= may be given (" +
                        std::string(key) + "= is extra)");
  source_ = source;
}

int FilePlugin::parse_descriptor(std::string_view key, std::string_view value) {
  const int64_t fd = nbdkit::parse_int(key, value);
  if (fd < 0 || fd > 0x7fffffff)
    throw nbdkit::Error(std::string(key) + "=" + std::string(value) + ": not a file descriptor");
  return int(fd);
}

void FilePlugin::config(std::string_view key, std::string_view value) {
  if (key == "file" || key == "dir") {
    set_source(key == "file" ? Source::file : Source::dir, key);
    if (value.empty()) throw nbdkit::Error(std::string(key) + "= must not be empty");
    path_ = nbdkit::absolute_path(value);
  } else if (key == "fd") {
    set_source(Source::fd, key);
    given_fd_ = parse_descriptor(key, value);
  } else if (key == "dirfd") {
    set_source(Source::dirfd, key);
    dir_fd_ = parse_descriptor(key, value);
  } else if (key == "cache") {
    if (value == "default") cache_ = CacheMode::normal;
    else if (value == "none") cache_ = CacheMode::none;
    else throw nbdkit::Error("cache=" + std::string(value) + ": expected default or none");
  } else if (key == "fadvise") {
    if (value == "normal") fadvice_ = POSIX_FADV_NORMAL;
    else if (value == "random") fadvice_ = POSIX_FADV_RANDOM;
    else if (value == "sequential") fadvice_ = POSIX_FADV_SEQUENTIAL;
    else
      throw nbdkit::Error("fadvise=" + std::string(value) +
                          ": expected normal, random or sequential");
  } else {
    throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
  }
}

void FilePlugin::check_file_source() {
  const bool by_fd = source_ == Source::fd;
  const std::string name = by_fd ? "fd=" + std::to_string(given_fd_) : path_;
  struct stat st;
  if ((by_fd ? ::fstat(given_fd_, &st) : ::stat(path_.c_str(), &st)) == -1)
    throw nbdkit::Error(name + ": " + errno_text(errno));
  const std::string bad_type = file_plugin::unsupported_file_type(st.st_mode);
  if (!bad_type.empty()) throw nbdkit::Error(name + ": " + bad_type);
  const int fd = by_fd ? given_fd_ : ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd == -1) throw nbdkit::Error(name + ": " + errno_text(errno));
  memory_backed_ = file_plugin::is_memory_backed(fd);
  if (!by_fd) ::close(fd);
}

void FilePlugin::check_dir_source() {
  const bool by_fd = source_ == Source::dirfd;
  const std::string name = by_fd ? "dirfd=" + std::to_string(dir_fd_) : path_;
  if (!by_fd) dir_fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dir_fd_ == -1 || ::fstat(dir_fd_, &st) == -1)
    throw nbdkit::Error(name + ": " + errno_text(errno));
  if (!S_ISDIR(st.st_mode)) throw nbdkit::Error(name + ": not a directory");
  memory_backed_ = file_plugin::is_memory_backed(dir_fd_);
}

void FilePlugin::config_complete() {
  switch (source_) {
    case Source::none:
      throw nbdkit::Error("you must give [file=]<FILENAME>, dir=<DIRNAME>, fd=<N> or dirfd=<N>");
    case Source::file:
    case Source::fd:
      check_file_source();
      break;
    case Source::dir:
    case Source::dirfd:
      check_dir_source();
      break;
  }
  // Page eviction is pointless for a file held in memory.
  if (memory_backed_) cache_ = CacheMode::normal;
}

std::vector<nbdkit::ExportInfo> FilePlugin::list_exports(bool, bool) {
  if (source_ != Source::dir && source_ != Source::dirfd) return {nbdkit::ExportInfo{}};
  // fdopendir takes the descriptor: give it a copy, which also has its own
  // read position.
  const int copy = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = copy == -1 ? nullptr : ::fdopendir(copy);
  if (!dir) {
    const int err = errno;
    if (copy != -1) ::close(copy);
    throw nbdkit::Error("listing the directory: " + errno_text(err), err);
  }
  std::vector<nbdkit::ExportInfo> exports;
  while (const dirent* entry = ::readdir(dir)) {
    struct stat st;  // following symbolic links
    if (::fstatat(dir_fd_, entry->d_name, &st, 0) == 0 &&
        file_plugin::unsupported_file_type(st.st_mode).empty())
      exports.push_back({entry->d_name, {}});
  }
  ::closedir(dir);
  std::sort(exports.begin(), exports.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return exports;
}

// Checked before opening: opening a FIFO for reading would block.
void FilePlugin::check_dir_entry(const std::string& name) const {
  struct stat st;
  if (::fstatat(dir_fd_, name.c_str(), &st, 0) == -1) {
    const int err = errno;
    throw nbdkit::Error("export '" + name + "': " + errno_text(err), err);
  }
  const std::string bad_type = file_plugin::unsupported_file_type(st.st_mode);
  if (!bad_type.empty()) throw nbdkit::Error("export '" + name + "': " + bad_type, ENOENT);
}

OpenFile FilePlugin::open_export(bool readonly, std::string_view exportname) const {
  switch (source_) {
    case Source::file:
      return open_for_serving(AT_FDCWD, path_, readonly);
    case Source::fd: {
      OpenFile file;
      file.name = "fd=" + std::to_string(given_fd_);
      file.fd = given_fd_;
      file.owned = false;
      file.writable = !readonly && (::fcntl(given_fd_, F_GETFL) & O_ACCMODE) != O_RDONLY;
      return file;
    }
    default:
      if (exportname.empty())
        throw nbdkit::Error("directory mode: the client must name an export (list them with "
                            "NBD_OPT_LIST)", ENOENT);
      if (exportname.find('/') != std::string_view::npos)
        throw nbdkit::Error("directory mode: export names may not contain '/'", EINVAL);
      check_dir_entry(std::string(exportname));
      return open_for_serving(dir_fd_, std::string(exportname), readonly);
  }
}

std::unique_ptr<nbdkit::Context> FilePlugin::open(bool readonly, std::string_view exportname,
                                                  bool) {
  OpenFile file = open_export(readonly, exportname);
  if (fadvice_ != POSIX_FADV_NORMAL) ::posix_fadvise(file.fd, 0, 0, fadvice_);
  return std::make_unique<FileDisk>(std::move(file), cache_);
}

}  // namespace

NBDKIT_REGISTER_PLUGIN("file", FilePlugin);
