// The vhost-user virtio-blk device against a real back end:
// qemu-storage-daemon exporting a file in a temporary directory.  The
// bytes are checked in the file itself.  Skipped without qemu-storage-daemon.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vhost_user/device.hpp"
#include "virtio/blk_queue.hpp"

using namespace blkio;

namespace {

constexpr uint64_t disk_size = 32 << 20;

class Daemon {
 public:
  // Starts qemu-storage-daemon daemonized: it returns once listening.
  explicit Daemon(const std::string& extra_export = ",writable=on", int num_queues = 1) {
    char tmpl[] = "/tmp/blkio-vhost-unit.XXXXXX";
    dir = ::mkdtemp(tmpl);
    disk = dir + "/disk.raw";
    sock = dir + "/vhost.sock";
    pidfile = dir + "/qsd.pid";
    std::vector<char> pattern(disk_size);
    for (size_t i = 0; i < pattern.size(); i += 512) std::memset(&pattern[i], int(i / 512), 512);
    std::ofstream(disk, std::ios::binary).write(pattern.data(), std::streamsize(pattern.size()));
    const std::string cmd =
        "qemu-storage-daemon --blockdev driver=file,node-name=file0,filename=" + disk +
        " --export type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=" + sock +
        extra_export + ",num-queues=" + std::to_string(num_queues) + " --pidfile " + pidfile +
        " --daemonize";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~Daemon() {
    kill_it();
    std::system(("rm -rf " + dir).c_str());
  }
  void kill_it() {
    std::ifstream in(pidfile);
    pid_t pid = 0;
    if (in >> pid && pid > 0) ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && pid > 0 && running(pid); ++i) ::usleep(10000);
  }
  // A killed daemon may stay a zombie until init reaps it: that is gone.
  static bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
  }
  std::vector<char> file_bytes(uint64_t offset, size_t len) const {
    std::vector<char> out(len);
    const int fd = ::open(disk.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, out.data(), len, off_t(offset)), ssize_t(len));
    ::close(fd);
    return out;
  }
  bool ok = false;
  std::string dir, disk, sock, pidfile;
};

bool have_qsd() { return std::system("command -v qemu-storage-daemon >/dev/null 2>&1") == 0; }

// A started device with `lanes` driver-layer queues spread over `queues`
// virtqueues, as the driver sets them up.
struct Started {
  explicit Started(Daemon& d, int queues = 1, int lanes = 1) {
    EXPECT_EQ(dev.connect(d.sock, message), 0) << message;
    EXPECT_EQ(buffer.create(4 << 20, "buffers", message), 0) << message;
    EXPECT_EQ(dev.map_region({buffer.addr, buffer.len, buffer.fd, 0}, message), 0) << message;
    EXPECT_EQ(dev.start(queues, 128, message), 0) << message;
    for (int i = 0; i < dev.num_queues(); ++i) {
      rings.push_back(std::make_unique<virtio::SharedRing>(
          dev.queue(i).setup(dev.address_map(), dev.socket_fd(), "back end gone")));
    }
    for (int i = 0; i < lanes; ++i)
      this->lanes.push_back(std::make_unique<virtio::BlkQueue>(
          *rings[size_t(i) % rings.size()], dev.limits(), dev.limits().read_only));
  }
  // Runs one request on `lane`: 0 or a negative errno.
  int run(virtio::Op op, uint64_t offset, size_t len, size_t buf_offset = 0, int lane = 0,
          bool unmap = false) {
    blkio::Queue& q = *lanes[size_t(lane)];
    uint8_t* buf = buffer.addr + buf_offset;
    const uint32_t flags = unmap ? 0 : blkio::req::no_unmap;
    switch (op) {
      case virtio::Op::read: q.read(offset, buf, len, nullptr, 0); break;
      case virtio::Op::write: q.write(offset, buf, len, nullptr, 0); break;
      case virtio::Op::flush: q.flush(nullptr, 0); break;
      case virtio::Op::write_zeroes: q.write_zeroes(offset, len, nullptr, flags); break;
      case virtio::Op::discard: q.discard(offset, len, nullptr, 0); break;
      case virtio::Op::get_id: return -ENOTSUP;
    }
    blkio::Completion c;
    const int n = q.do_io(&c, 1, 1, nullptr);
    return n == 1 ? c.ret : n;
  }
  vhost_user::Device dev;
  vhost_user::SharedMemory buffer;
  std::vector<std::unique_ptr<virtio::SharedRing>> rings;
  std::vector<std::unique_ptr<virtio::BlkQueue>> lanes;
  std::string message;
};

}  // namespace

#define REQUIRE_DAEMON(d)                                          \
  if (!have_qsd()) GTEST_SKIP() << "qemu-storage-daemon missing"; \
  ASSERT_TRUE(d.ok)

TEST(VhostDevice, ConfigAndLimits) {
  if (!have_qsd()) GTEST_SKIP() << "qemu-storage-daemon missing";
  Daemon d(",writable=on,logical-block-size=4096", 2);
  ASSERT_TRUE(d.ok);
  vhost_user::Device dev;
  std::string message;
  ASSERT_EQ(dev.connect(d.sock, message), 0) << message;
  EXPECT_EQ(dev.limits().capacity, disk_size);
  EXPECT_EQ(dev.limits().request_alignment, 4096);
  EXPECT_EQ(dev.limits().max_queues, 2);
  EXPECT_EQ(dev.limits().max_write_zeroes_len, 16u << 20);
  EXPECT_FALSE(dev.limits().read_only);
  EXPECT_TRUE(dev.limits().can_flush);
}

TEST(VhostDevice, WrongSocket) {
  vhost_user::Device dev;
  std::string message;
  EXPECT_EQ(dev.connect("/nonexistent/vhost.sock", message), -ENOENT);
  EXPECT_NE(message.find("/nonexistent/vhost.sock"), std::string::npos) << message;
}

TEST(VhostDevice, ReadWriteFlushZeroDiscard) {
  Daemon d;
  REQUIRE_DAEMON(d);
  Started s(d);
  ASSERT_EQ(s.run(virtio::Op::read, 1 << 20, 65536), 0);
  EXPECT_EQ(std::memcmp(s.buffer.addr, d.file_bytes(1 << 20, 65536).data(), 65536), 0);
  std::memset(s.buffer.addr, 0xab, 8192);
  ASSERT_EQ(s.run(virtio::Op::write, 512, 8192), 0);
  ASSERT_EQ(s.run(virtio::Op::flush, 0, 0), 0);
  EXPECT_EQ(d.file_bytes(512, 8192), std::vector<char>(8192, char(0xab)));
  ASSERT_EQ(s.run(virtio::Op::write_zeroes, 1024, 4096), 0);
  EXPECT_EQ(d.file_bytes(1024, 4096), std::vector<char>(4096, 0));
  EXPECT_EQ(d.file_bytes(512, 512), std::vector<char>(512, char(0xab)));
  EXPECT_EQ(s.run(virtio::Op::write_zeroes, 65536, 1 << 20, 0, 0, true), 0);
  EXPECT_EQ(d.file_bytes(65536, 1 << 20), std::vector<char>(1 << 20, 0));
  EXPECT_EQ(s.run(virtio::Op::discard, 4 << 20, 1 << 20), 0);
  // Whole 16 MiB is the limit; more is an I/O error (the caller splits).
  EXPECT_EQ(s.run(virtio::Op::write_zeroes, 0, 16 << 20), 0);
  EXPECT_EQ(s.run(virtio::Op::write_zeroes, 0, (16 << 20) + 512), -EIO);
  EXPECT_EQ(s.run(virtio::Op::read, disk_size, 512), -EIO);
  EXPECT_EQ(s.run(virtio::Op::read, 100, 512), -EINVAL);  // unaligned: refused here
}

TEST(VhostDevice, ManyThreadsShareQueues) {
  Daemon d(",writable=on", 2);
  REQUIRE_DAEMON(d);
  Started s(d, 2, 8);  // four lanes on each virtqueue
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const size_t slice = 65536;
      uint8_t* mine = s.buffer.addr + size_t(t) * slice;
      for (int i = 0; i < 200; ++i) {
        const uint64_t off = (uint64_t(t) * 200 + uint64_t(i)) * 4096;
        std::memset(mine, t * 16 + i % 16, 4096);
        if (s.run(virtio::Op::write, off, 4096, size_t(t) * slice, t)) ++errors;
        std::memset(mine, 0, 4096);
        if (s.run(virtio::Op::read, off, 4096, size_t(t) * slice, t)) ++errors;
        if (mine[100] != uint8_t(t * 16 + i % 16)) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST(VhostDevice, DaemonKilledFailsRequests) {
  Daemon d;
  REQUIRE_DAEMON(d);
  Started s(d);
  ASSERT_EQ(s.run(virtio::Op::read, 0, 4096), 0);
  d.kill_it();
  EXPECT_EQ(s.run(virtio::Op::read, 0, 4096), -EIO);
  EXPECT_EQ(s.run(virtio::Op::read, 0, 4096), -EIO);
}

TEST(VhostDevice, ReadOnlyExport) {
  Daemon d("");
  REQUIRE_DAEMON(d);
  Started s(d);
  EXPECT_TRUE(s.dev.limits().read_only);
  EXPECT_EQ(s.run(virtio::Op::read, 0, 4096), 0);
  EXPECT_EQ(s.run(virtio::Op::write, 0, 4096), -EBADF);  // refused before the device
}
