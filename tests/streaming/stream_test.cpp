// Drives the streaming plugin's writer and reader directly over a real FIFO.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipe_end.hpp"
#include "stream.hpp"

namespace {

using streaming::PipeEnd;
using streaming::StreamReader;
using streaming::StreamWriter;

std::vector<char> pattern(size_t size, uint64_t start = 0) {
  std::vector<char> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((start + i) * 7 + 1);
  return bytes;
}

class TempFifo {
 public:
  TempFifo() {
    char dir_template[] = "/tmp/stream_testXXXXXX";
    dir_ = mkdtemp(dir_template);
    path_ = dir_ + "/fifo";
  }
  ~TempFifo() {
    for (int fd : fds_) close(fd);
    std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }
  void make() { ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0); }
  int open_end(int flags) {
    int fd = open(path_.c_str(), flags | O_NONBLOCK);
    if (fd != -1) fds_.push_back(fd);
    return fd;
  }
  void close_end(int fd) {
    close(fd);
    std::erase(fds_, fd);
  }

 private:
  std::string dir_, path_;
  std::vector<int> fds_;
};

// Everything currently in the pipe (the tests stay below its capacity).
std::vector<char> drain(int fd) {
  std::vector<char> out;
  char buf[65536];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  return out;
}

constexpr uint64_t no_wait = 0;

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fifo_.make();
    reader_fd_ = fifo_.open_end(O_RDONLY);
    ASSERT_NE(reader_fd_, -1);
  }
  std::unique_ptr<StreamWriter> make_writer(uint64_t window = streaming::default_window) {
    return std::make_unique<StreamWriter>(
        std::make_unique<PipeEnd>(fifo_.path(), PipeEnd::Direction::write, no_wait), window);
  }

  TempFifo fifo_;
  int reader_fd_ = -1;
};

TEST_F(WriterTest, InOrderWritesStreamVerbatim) {
  auto writer = make_writer();
  auto data = pattern(12288);
  ASSERT_EQ(writer->write(data.data(), 4096, 0), 0);
  ASSERT_EQ(writer->write(data.data() + 4096, 8192, 4096), 0);
  EXPECT_EQ(drain(reader_fd_), data);
}

TEST_F(WriterTest, OutOfOrderWritesAreReordered) {
  auto writer = make_writer();
  auto data = pattern(16384);
  ASSERT_EQ(writer->write(data.data() + 8192, 8192, 8192), 0);
  ASSERT_EQ(writer->write(data.data() + 4096, 4096, 4096), 0);
  EXPECT_TRUE(drain(reader_fd_).empty());
  ASSERT_EQ(writer->write(data.data(), 4096, 0), 0);
  EXPECT_EQ(drain(reader_fd_), data);
  EXPECT_FALSE(writer->broken());
}

TEST_F(WriterTest, FlushStreamsGapsAsZeroes) {
  auto writer = make_writer();
  auto data = pattern(4096);
  ASSERT_EQ(writer->write(data.data(), 4096, 8192), 0);
  ASSERT_EQ(writer->flush(), 0);
  std::vector<char> expected(8192, 0);
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(drain(reader_fd_), expected);
}

TEST_F(WriterTest, ZeroRequestsStreamZeroes) {
  auto writer = make_writer();
  auto data = pattern(1000);
  ASSERT_EQ(writer->zero(3000, 1000), 0);  // held until the gap fills
  ASSERT_EQ(writer->write(data.data(), 1000, 0), 0);
  auto expected = data;
  expected.resize(4000, 0);
  EXPECT_EQ(drain(reader_fd_), expected);
}

TEST_F(WriterTest, BackwardWriteBreaksTheStream) {
  auto writer = make_writer();
  auto data = pattern(8192);
  ASSERT_EQ(writer->write(data.data(), 8192, 0), 0);
  EXPECT_EQ(writer->write(data.data(), 512, 4096), EIO);
  EXPECT_TRUE(writer->broken());
  EXPECT_EQ(writer->write(data.data(), 512, 8192), EIO);
  EXPECT_EQ(writer->flush(), EIO);
}

TEST_F(WriterTest, RewritingHeldRangeBreaksTheStream) {
  auto writer = make_writer();
  auto data = pattern(8192);
  ASSERT_EQ(writer->write(data.data(), 4096, 4096), 0);
  EXPECT_EQ(writer->write(data.data(), 512, 6000), EIO);
  EXPECT_TRUE(writer->broken());
}

TEST_F(WriterTest, FullWindowTreatsGapAsSkipped) {
  auto writer = make_writer(8192);
  auto data = pattern(16384);
  ASSERT_EQ(writer->write(data.data(), 16384, 4096), 0);
  std::vector<char> expected(4096, 0);
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(drain(reader_fd_), expected);
  EXPECT_EQ(writer->write(data.data(), 4096, 0), EIO);
}

TEST_F(WriterTest, ReadsReturnZeroesOnlyBeyondWhatWasWritten) {
  auto writer = make_writer();
  auto data = pattern(4096);
  ASSERT_EQ(writer->write(data.data(), 4096, 0), 0);
  std::vector<char> buf(512, 'x');
  ASSERT_EQ(writer->read(buf.data(), 512, 4096), 0);
  EXPECT_EQ(buf, std::vector<char>(512, 0));
  EXPECT_EQ(writer->read(buf.data(), 512, 0), EIO);
  EXPECT_TRUE(writer->broken());
}

TEST_F(WriterTest, ReaderGoingAwayBreaksTheStream) {
  // As in the server, which ignores SIGPIPE so that the write fails instead.
  signal(SIGPIPE, SIG_IGN);
  auto writer = make_writer();
  auto data = pattern(4096);
  ASSERT_EQ(writer->write(data.data(), 4096, 0), 0);
  fifo_.close_end(reader_fd_);
  EXPECT_EQ(writer->write(data.data(), 4096, 4096), EIO);
  EXPECT_TRUE(writer->broken());
}

TEST(PipeEndTest, MissingReaderFailsTheFirstWrite) {
  TempFifo fifo;
  fifo.make();
  StreamWriter writer(std::make_unique<PipeEnd>(fifo.path(), PipeEnd::Direction::write, no_wait),
                      streaming::default_window);
  char byte = 1;
  EXPECT_EQ(writer.write(&byte, 1, 0), EIO);
  EXPECT_TRUE(writer.broken());
}

TEST(PipeEndTest, MissingPathBecomesAFifo) {
  TempFifo fifo;
  PipeEnd end(fifo.path(), PipeEnd::Direction::read, no_wait);
  struct stat st;
  ASSERT_EQ(stat(fifo.path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fifo_.make();
    reader_ = std::make_unique<StreamReader>(
        std::make_unique<PipeEnd>(fifo_.path(), PipeEnd::Direction::read, no_wait),
        streaming::default_window);
    writer_fd_ = fifo_.open_end(O_WRONLY);
    ASSERT_NE(writer_fd_, -1);
  }
  void produce(const std::vector<char>& bytes) {
    ASSERT_EQ(write(writer_fd_, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  std::vector<char> read_at(uint64_t offset, uint32_t count, int expected_error = 0) {
    std::vector<char> buf(count);
    EXPECT_EQ(reader_->read(buf.data(), count, offset), expected_error);
    return buf;
  }

  TempFifo fifo_;
  std::unique_ptr<StreamReader> reader_;
  int writer_fd_ = -1;
};

TEST_F(ReaderTest, SequentialReads) {
  auto data = pattern(8192);
  produce(data);
  EXPECT_EQ(read_at(0, 4096), pattern(4096));
  EXPECT_EQ(read_at(4096, 4096), pattern(4096, 4096));
}

TEST_F(ReaderTest, SkippedBytesCanStillBeRead) {
  auto data = pattern(12288);
  produce(data);
  EXPECT_EQ(read_at(8192, 4096), pattern(4096, 8192));
  EXPECT_EQ(read_at(4096, 4096), pattern(4096, 4096));
  EXPECT_EQ(read_at(0, 4096), pattern(4096));
}

TEST_F(ReaderTest, HeadCanBeReadAgain) {
  produce(pattern(4096));
  EXPECT_EQ(read_at(0, 512), pattern(512));
  EXPECT_EQ(read_at(0, 4096), pattern(4096));
}

TEST_F(ReaderTest, BackwardReadOfDeliveredBytesBreaksTheStream) {
  const uint32_t past_head = 2u << 20;
  std::vector<char> big = pattern(past_head + 4096);
  // Larger than a pipe holds: feed it from the writer side as it drains.
  size_t fed = 0;
  std::vector<char> out(past_head);
  uint64_t offset = 0;
  while (offset < past_head) {
    while (fed < big.size()) {
      ssize_t r = write(writer_fd_, big.data() + fed, big.size() - fed);
      if (r <= 0) break;
      fed += r;
    }
    uint32_t n = std::min<uint64_t>(65536, past_head - offset);
    ASSERT_EQ(reader_->read(out.data() + offset, n, offset), 0);
    offset += n;
  }
  while (fed < big.size()) {
    ssize_t r = write(writer_fd_, big.data() + fed, big.size() - fed);
    ASSERT_GT(r, 0);
    fed += r;
  }
  read_at(past_head - 4096, 512, EIO);
  EXPECT_TRUE(reader_->broken());
  read_at(past_head, 512, EIO);
}

TEST_F(ReaderTest, EndOfStreamBreaksTheStream) {
  produce(pattern(1000));
  fifo_.close_end(writer_fd_);
  read_at(0, 4096, EIO);
  EXPECT_TRUE(reader_->broken());
}

}  // namespace
