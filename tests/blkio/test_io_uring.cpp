// The io_uring driver on a temporary file: properties derived at
// connect, queue semantics (several requests in flight, do_io's min and
// max, EOF, read-only, alignment), through the registry like the plugin.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "driver.hpp"

namespace {

class IoUringDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/blkio-unit.XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_NE(fd, -1);
    path_ = name;
    ASSERT_EQ(::ftruncate(fd, 10000), 0);
    ASSERT_EQ(::pwrite(fd, "hello", 5, 9995), 5);
    ::close(fd);
  }
  void TearDown() override { ::unlink(path_.c_str()); }

  std::unique_ptr<blkio::Driver> started(bool read_only = false) {
    auto d = blkio::create_driver("io_uring");
    d->set("path", path_);
    if (read_only) d->set("read-only", "true");
    d->connect();
    d->set("num-entries", "4");
    d->start();
    return d;
  }

  // Waits for exactly n completions; returns their results by user_data.
  static std::vector<int> wait_for(blkio::Queue& q, int n) {
    const size_t count = size_t(n);
    std::vector<int> results(count, 1);
    std::vector<blkio::Completion> c(count);
    int got = 0;
    while (got < n) {
      const int r = q.do_io(c.data(), 1, n - got, nullptr);
      EXPECT_GT(r, 0);
      if (r <= 0) break;
      for (size_t i = 0; i < size_t(r); i++)
        results[reinterpret_cast<uintptr_t>(c[i].user_data)] = c[i].ret;
      got += r;
    }
    return results;
  }

  std::string path_;
};

void* tag(uintptr_t i) { return reinterpret_cast<void*>(i); }

TEST_F(IoUringDriverTest, Properties) {
  auto d = blkio::create_driver("io_uring");
  d->set("path", path_);
  d->connect();
  EXPECT_EQ(d->get("capacity"), "10000");
  EXPECT_EQ(d->get("request-alignment"), "1");
  EXPECT_EQ(d->get("needs-mem-regions"), "false");
  EXPECT_EQ(d->get("can-grow"), "true");
  EXPECT_EQ(d->get("num-entries"), "128");
  EXPECT_EQ(d->get("path"), path_);
}

TEST_F(IoUringDriverTest, ManyInFlight) {
  auto d = started();
  blkio::Queue& q = d->queue(0);
  // More requests than the ring has entries: the rest wait their turn.
  std::vector<std::vector<char>> bufs(10, std::vector<char>(1000));
  for (uintptr_t i = 0; i < 10; i++) {
    std::memset(bufs[i].data(), int('a' + i), 1000);
    q.write(i * 1000, bufs[i].data(), 1000, tag(i), blkio::req::fua);
  }
  for (int r : wait_for(q, 10)) EXPECT_EQ(r, 0);
  q.flush(tag(0), 0);
  EXPECT_EQ(wait_for(q, 1)[0], 0);
  char buf[1000];
  q.read(3000, buf, 1000, tag(0), 0);
  EXPECT_EQ(wait_for(q, 1)[0], 0);
  EXPECT_EQ(buf[0], 'd');
  EXPECT_EQ(buf[999], 'd');
}

TEST_F(IoUringDriverTest, DoIoLimits) {
  auto d = started();
  blkio::Queue& q = d->queue(0);
  blkio::Completion c[4];
  EXPECT_EQ(q.do_io(c, 1, 1, nullptr), -EINVAL);  // nothing outstanding
  char buf[10];
  q.read(0, buf, 10, tag(0), 0);
  q.read(10, buf, 10, tag(1), 0);
  EXPECT_EQ(q.do_io(c, 3, 4, nullptr), -EINVAL);
  EXPECT_EQ(q.do_io(c, 2, 2, nullptr), 2);
  EXPECT_EQ(q.do_io(c, 0, 4, nullptr), 0);
}

TEST_F(IoUringDriverTest, EndOfFileZeroWriteZeroes) {
  auto d = started();
  blkio::Queue& q = d->queue(0);
  // A file reads as zeroes past its end.
  char buf[20];
  std::memset(buf, 'x', sizeof buf);
  q.read(9995, buf, 20, tag(0), 0);
  EXPECT_EQ(wait_for(q, 1)[0], 0);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(buf[19], 0);
  q.write_zeroes(9995, 5, tag(0), blkio::req::no_unmap | blkio::req::fua);
  q.discard(0, 4096, tag(1), 0);
  for (int r : wait_for(q, 2)) EXPECT_EQ(r, 0);
  q.read(9995, buf, 5, tag(0), 0);
  EXPECT_EQ(wait_for(q, 1)[0], 0);
  EXPECT_EQ(std::string(buf, 5), std::string(5, '\0'));
}

TEST_F(IoUringDriverTest, ReadOnly) {
  auto d = started(true);
  EXPECT_TRUE(d->read_only());
  blkio::Queue& q = d->queue(0);
  char buf[4] = {};
  q.write(0, buf, 4, tag(0), 0);
  q.write_zeroes(0, 4, tag(1), 0);
  q.discard(0, 4, tag(2), 0);
  q.read(0, buf, 4, tag(3), 0);
  const auto r = wait_for(q, 4);
  EXPECT_EQ(r[0], -EBADF);
  EXPECT_EQ(r[1], -EBADF);
  EXPECT_EQ(r[2], -EBADF);
  EXPECT_EQ(r[3], 0);
}

TEST_F(IoUringDriverTest, ConnectErrors) {
  auto d = blkio::create_driver("io_uring");
  EXPECT_THROW(d->connect(), blkio::Error);  // neither path nor fd
  d->set("path", "/nonexistent/disk");
  try {
    d->connect();
    FAIL();
  } catch (const blkio::Error& e) {
    EXPECT_EQ(e.err(), ENOENT);
  }
  EXPECT_EQ(d->state(), blkio::State::created);
}

}  // namespace
