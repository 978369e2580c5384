// nbdkit streaming write=FILENAME|pipe=FILENAME|read=FILENAME [size=SIZE]
//                  [reader-timeout=DELAY]
//
// Turns a client's front-to-back writes into a byte stream on a FIFO or
// socket, or serves such a stream to a client reading front to back
// (nbdkit-streaming-plugin(1), which nbdkit dropped in 1.30).
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nbdkit/plugin.hpp>

#include "pipe_end.hpp"
#include "stream.hpp"

namespace {

using streaming::PipeEnd;

// The largest size qemu accepts, so that the disk looks endless.
constexpr uint64_t default_size = (uint64_t{1} << 63) - (uint64_t{1} << 30);
constexpr uint64_t default_reader_timeout_ns = uint64_t{60} * 1000 * 1000 * 1000;

// Lets one client at a time hold the stream.
class ClientSlot {
 public:
  void take() {
    if (taken_.exchange(true))
      throw nbdkit::Error(
          "another client is already streaming: the streaming plugin serves one client at a "
          "time",
          EBUSY);
  }
  void release() { taken_ = false; }

 private:
  std::atomic<bool> taken_ = false;
};

class WriteStreamContext final : public nbdkit::Context {
 public:
  WriteStreamContext(streaming::StreamWriter& writer, uint64_t size, ClientSlot& slot)
      : writer_(writer), size_(size), slot_(slot) {}
  ~WriteStreamContext() override {
    // What the client wrote must reach the stream even if it never flushed.
    (void)writer_.flush();
    slot_.release();
  }

  uint64_t get_size() override { return size_; }
  bool can_write() override { return true; }
  bool can_flush() override { return true; }
  bool can_zero() override { return true; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return writer_.read(buf, count, offset);
  }
  int pwrite(const void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return writer_.write(buf, count, offset);
  }
  int zero(uint32_t count, uint64_t offset, uint32_t) override {
    return writer_.zero(count, offset);
  }
  int flush(uint32_t) override { return writer_.flush(); }

 private:
  streaming::StreamWriter& writer_;
  uint64_t size_;
  ClientSlot& slot_;
};

class ReadStreamContext final : public nbdkit::Context {
 public:
  ReadStreamContext(streaming::StreamReader& reader, uint64_t size, ClientSlot& slot)
      : reader_(reader), size_(size), slot_(slot) {}
  ~ReadStreamContext() override { slot_.release(); }

  uint64_t get_size() override { return size_; }

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t) override {
    return reader_.read(buf, count, offset);
  }

 private:
  streaming::StreamReader& reader_;
  uint64_t size_;
  ClientSlot& slot_;
};

class StreamingPlugin final : public nbdkit::Plugin {
 public:
  std::string config_help() const override {
    return "write=<FILENAME>   FIFO or socket to write the stream to (pipe= is the same)\n"
           "read=<FILENAME>    FIFO or socket to read the stream from (read-only export)\n"
           "size=<SIZE>        Size of the export (default: as large as qemu accepts)\n"
           "reader-timeout=<DELAY>  How long the first write waits for a FIFO reader "
           "(default 60s)";
  }
  // Requests must reach the stream one at a time, in the order they run.
  nbdkit::ThreadModel thread_model() const override {
    return nbdkit::ThreadModel::serialize_all_requests;
  }

  void config(std::string_view key, std::string_view value) override {
    if (key == "write" || key == "pipe")
      set_path(PipeEnd::Direction::write, key, value);
    else if (key == "read")
      set_path(PipeEnd::Direction::read, key, value);
    else if (key == "size")
      size_ = nbdkit::parse_size("size", value);
    else if (key == "reader-timeout")
      reader_timeout_ns_ = nbdkit::parse_delay("reader-timeout", value);
    else
      throw nbdkit::Error("unknown parameter '" + std::string(key) + "'");
  }

  void config_complete() override {
    if (path_.empty())
      throw nbdkit::Error(
          "you must give write=FILENAME (or pipe=FILENAME) to stream what the client writes, "
          "or read=FILENAME to serve a stream to the client");
  }

  void get_ready() override {
    auto pipe = std::make_unique<PipeEnd>(path_, direction_, reader_timeout_ns_);
    if (direction_ == PipeEnd::Direction::write)
      writer_.emplace(std::move(pipe), streaming::default_window);
    else
      reader_.emplace(std::move(pipe), streaming::default_window);
  }

  // Closing the pipe is what tells the reader the stream has ended.
  void cleanup() override {
    writer_.reset();
    reader_.reset();
  }

  std::unique_ptr<nbdkit::Context> open(bool readonly, std::string_view, bool) override {
    if (writer_ && readonly)
      throw nbdkit::Error("the export of write=" + path_ +
                          " cannot be read-only: do not use -r with write= or pipe=");
    if ((writer_ && writer_->broken()) || (reader_ && reader_->broken()))
      throw nbdkit::Error("the stream " + path_ + " is broken by an earlier error", EIO);
    slot_.take();
    if (writer_) return std::make_unique<WriteStreamContext>(*writer_, size_, slot_);
    return std::make_unique<ReadStreamContext>(*reader_, size_, slot_);
  }

 private:
  void set_path(PipeEnd::Direction direction, std::string_view key, std::string_view value) {
    if (!path_.empty())
      throw nbdkit::Error("only one of write=, pipe= or read= may be given, once");
    if (value.empty()) throw nbdkit::Error(std::string(key) + "= needs a file name");
    path_ = nbdkit::absolute_path(value);
    direction_ = direction;
  }

  std::string path_;
  PipeEnd::Direction direction_ = PipeEnd::Direction::write;
  uint64_t size_ = default_size;
  uint64_t reader_timeout_ns_ = default_reader_timeout_ns;
  ClientSlot slot_;
  std::optional<streaming::StreamWriter> writer_;
  std::optional<streaming::StreamReader> reader_;
};

}  // namespace

NBDKIT_REGISTER_PLUGIN("streaming", StreamingPlugin);
