// The nvme-io_uring driver's pure parts, checked against the NVMe
// specifications' layouts: command encoding (SLBA, zero-based NLB, FUA,
// DEAC, Dataset Management ranges, the SQE's byte offsets), Identify
// parsing from byte arrays built per the spec, MDTS to max-transfer,
// status to errno, and the clear errors for what is not an NVMe device.
// A queue on /dev/null (whose URING_CMD is a no-op on recent kernels)
// exercises the 128-byte ring plumbing and the queue's own checks.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "driver.hpp"
#include "nvme_io_uring/nvme_command.hpp"
#include "nvme_io_uring/nvme_identify.hpp"
#include "nvme_io_uring/nvme_queue.hpp"

namespace {

namespace nvme = blkio::nvme;

uint32_t le32_at(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24; }
uint64_t le64_at(const uint8_t* p) { return le32_at(p) | uint64_t(le32_at(p + 4)) << 32; }

TEST(NvmeCommand, ReadWriteLayout) {
  char buf[4096];
  const auto cmd = nvme::read_write(nvme::kRead, 1, 0x123456789, 8, false, buf, 4096);
  EXPECT_EQ(cmd.opcode, 0x02);
  EXPECT_EQ(cmd.nsid, 1u);
  EXPECT_EQ(cmd.cdw10, 0x23456789u);  // SLBA low
  EXPECT_EQ(cmd.cdw11, 0x1u);         // SLBA high
  EXPECT_EQ(cmd.cdw12, 7u);           // NLB is zero-based
  EXPECT_EQ(cmd.addr, reinterpret_cast<uintptr_t>(buf));
  EXPECT_EQ(cmd.data_len, 4096u);
  const auto w = nvme::read_write(nvme::kWrite, 3, 0, 65536, true, buf, 0);
  EXPECT_EQ(w.opcode, 0x01);
  EXPECT_EQ(w.cdw12, 0xffffu | 1u << 30);  // the most blocks, and FUA
}

TEST(NvmeCommand, WriteZeroesAndFlush) {
  const auto deac = nvme::write_zeroes(1, 100, 1, false, true);
  EXPECT_EQ(deac.opcode, 0x08);
  EXPECT_EQ(deac.cdw10, 100u);
  EXPECT_EQ(deac.cdw12, 1u << 25);  // NLB 0 = one block, DEAC
  EXPECT_EQ(deac.data_len, 0u);
  const auto keep = nvme::write_zeroes(1, 100, 16, true, false);
  EXPECT_EQ(keep.cdw12, 15u | 1u << 30);
  const auto f = nvme::flush(7);
  EXPECT_EQ(f.opcode, 0x00);
  EXPECT_EQ(f.nsid, 7u);
  EXPECT_EQ(f.cdw10 | f.cdw11 | f.cdw12, 0u);
}

TEST(NvmeCommand, DatasetManagementRange) {
  uint8_t range[nvme::kDsmRangeSize];
  std::memset(range, 0xee, sizeof range);
  nvme::encode_dsm_range(range, 0x0102030405060708, 0x11223344);
  const uint8_t expected[16] = {0,    0,    0,    0,    0x44, 0x33, 0x22, 0x11,
                                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  EXPECT_EQ(std::memcmp(range, expected, 16), 0);
  const auto cmd = nvme::deallocate(1, range, 1);
  EXPECT_EQ(cmd.opcode, 0x09);
  EXPECT_EQ(cmd.cdw10, 0u);  // number of ranges, zero-based
  EXPECT_EQ(cmd.cdw11, 1u << 2);
  EXPECT_EQ(cmd.data_len, 16u);
  EXPECT_EQ(nvme::deallocate(1, range, 256).cdw10, 255u);
}

TEST(NvmeCommand, Identify) {
  alignas(4096) uint8_t data[4096];
  const auto cmd = nvme::identify(0, 1, data);
  EXPECT_EQ(cmd.opcode, 0x06);
  EXPECT_EQ(cmd.cdw10, 1u);  // CNS
  EXPECT_EQ(cmd.data_len, 4096u);
}

// The 128-byte SQE: the io_uring header, then struct nvme_uring_cmd at
// byte 48 (the kernel's offsets: addr at +24, data_len at +36, cdw10 at +40).
TEST(NvmeCommand, SqeByteOffsets) {
  alignas(64) uint8_t sqe[128];
  std::memset(sqe, 0xff, sizeof sqe);
  char buf[512];
  const auto cmd = nvme::read_write(nvme::kWrite, 5, 0x1122334455, 1, true, buf, 512);
  nvme::fill_sqe(reinterpret_cast<io_uring_sqe*>(sqe), 9, cmd);
  EXPECT_EQ(sqe[0], IORING_OP_URING_CMD);
  EXPECT_EQ(sqe[1], 0);  // no IOSQE flags yet
  EXPECT_EQ(le32_at(sqe + 4), 9u);
  EXPECT_EQ(le32_at(sqe + 8), 0xc0484e80u);  // NVME_URING_CMD_IO
  const uint8_t* c = sqe + 48;
  EXPECT_EQ(c[0], 0x01);
  EXPECT_EQ(le32_at(c + 4), 5u);
  EXPECT_EQ(le64_at(c + 24), reinterpret_cast<uintptr_t>(buf));
  EXPECT_EQ(le32_at(c + 36), 512u);
  EXPECT_EQ(le32_at(c + 40), 0x22334455u);
  EXPECT_EQ(le32_at(c + 44), 0x11u);
  EXPECT_EQ(le32_at(c + 48), 1u << 30);
  for (int i = 120; i < 128; i++) EXPECT_EQ(sqe[i], 0) << i;
}

TEST(NvmeStatus, Errno) {
  EXPECT_EQ(nvme::status_to_errno(0), 0);
  EXPECT_EQ(nvme::status_to_errno(-EINVAL), -EINVAL);  // the kernel's own
  EXPECT_EQ(nvme::status_to_errno(0x4080), -EINVAL);   // DNR, LBA Out of Range
  EXPECT_EQ(nvme::status_to_errno(0x4001), -ENOTSUP);  // DNR, Invalid Command Opcode
  EXPECT_EQ(nvme::status_to_errno(0x0002), -ENOTSUP);
  EXPECT_EQ(nvme::status_to_errno(0x0081), -ENOSPC);
  EXPECT_EQ(nvme::status_to_errno(0x0020), -EROFS);
  EXPECT_EQ(nvme::status_to_errno(0x0182), -EROFS);
  EXPECT_EQ(nvme::status_to_errno(0x0286), -EACCES);
  EXPECT_EQ(nvme::status_to_errno(0x0281), -EIO);  // Unrecovered Read Error
  EXPECT_EQ(nvme::status_to_errno(0x2006), -EIO);  // More, Internal Error
}

// Identify data built per the specifications.
struct Identify {
  std::array<uint8_t, 4096> bytes{};
  void put(size_t offset, uint64_t value, size_t size) {
    for (size_t i = 0; i < size; i++) bytes[offset + i] = uint8_t(value >> (8 * i));
  }
  // LBA format `index`: metadata size, log2 of the data size.
  void format(unsigned index, uint16_t ms, uint8_t lbads) {
    put(128 + 4 * index, ms | uint32_t(lbads) << 16, 4);
  }
  nvme::IdentifyData data() const { return nvme::IdentifyData(bytes); }
};

TEST(NvmeIdentify, NamespaceAsQemu) {
  Identify ns;  // what QEMU's emulated NVMe answered (design brief, 4.6)
  ns.put(0, 131072, 8);
  ns.bytes[25] = 7;
  ns.format(0, 0, 9);
  ns.format(1, 8, 9);
  const auto g = nvme::parse_identify_namespace(ns.data());
  EXPECT_EQ(g.blocks, 131072u);
  EXPECT_EQ(g.lba_size(), 512u);
  EXPECT_EQ(g.capacity(), 64u << 20);
}

TEST(NvmeIdentify, FormatIndexHighBits) {
  Identify ns;
  ns.put(0, 1000, 8);
  ns.bytes[25] = 20;    // 21 formats
  ns.bytes[26] = 0x22;  // bits 3:0 = 2, bits 6:5 = 1 -> index 18
  ns.format(2, 0, 9);
  ns.format(18, 0, 12);
  EXPECT_EQ(nvme::parse_identify_namespace(ns.data()).lba_size(), 4096u);
  // With 16 formats or fewer, bits 6:5 are not part of the index.
  ns.bytes[25] = 15;
  EXPECT_EQ(nvme::parse_identify_namespace(ns.data()).lba_size(), 512u);
}

TEST(NvmeIdentify, RejectedFormats) {
  Identify ns;
  ns.bytes[26] = 1;
  ns.format(1, 8, 12);  // index 1 of 1 format
  EXPECT_THROW(nvme::parse_identify_namespace(ns.data()), blkio::Error);
  ns.bytes[25] = 1;  // 2 formats; the chosen one has 8 bytes of metadata
  try {
    nvme::parse_identify_namespace(ns.data());
    ADD_FAILURE() << "metadata accepted";
  } catch (const blkio::Error& e) {
    EXPECT_EQ(e.err(), ENOTSUP);
    EXPECT_NE(std::string(e.what()).find("metadata"), std::string::npos);
  }
  ns.format(1, 0, 0);  // LBADS 0: format not available
  EXPECT_THROW(nvme::parse_identify_namespace(ns.data()), blkio::Error);
}

TEST(NvmeIdentify, Controller) {
  Identify ctrl;  // QEMU's: MDTS 7, ONCS 0x15d, VWC 0x7
  ctrl.bytes[77] = 7;
  ctrl.put(520, 0x15d, 2);
  ctrl.bytes[525] = 0x7;
  auto f = nvme::parse_identify_controller(ctrl.data());
  EXPECT_EQ(f.mdts, 7);
  EXPECT_TRUE(f.write_zeroes);
  EXPECT_TRUE(f.dataset_management);
  EXPECT_TRUE(f.volatile_write_cache);
  ctrl.put(520, 0x0008, 2);
  ctrl.bytes[525] = 0x6;  // flush behaviour bits without a cache
  f = nvme::parse_identify_controller(ctrl.data());
  EXPECT_TRUE(f.write_zeroes);
  EXPECT_FALSE(f.dataset_management);
  EXPECT_FALSE(f.volatile_write_cache);
}

TEST(NvmeLimits, MaxTransfer) {
  EXPECT_EQ(nvme::max_transfer(7, 9, 0), 512u << 10);  // 2^7 x 4 KiB
  EXPECT_EQ(nvme::max_transfer(0, 9, 0), 32u << 20);   // no MDTS: 65536 blocks
  EXPECT_EQ(nvme::max_transfer(0, 12, 0), 256u << 20);
  EXPECT_EQ(nvme::max_transfer(9, 9, 0), 2u << 20);
  EXPECT_EQ(nvme::max_transfer(9, 9, 256 << 10), 256u << 10);  // the kernel's limit
  EXPECT_EQ(nvme::max_transfer(7, 9, 1000), 512u);             // whole blocks
  EXPECT_EQ(nvme::max_transfer(5, 16, 0), 128u << 10);
  EXPECT_EQ(nvme::max_transfer(1, 16, 0), 64u << 10);  // never less than a block
  EXPECT_EQ(nvme::max_transfer(40, 9, 0), 32u << 20);  // MDTS beyond reason: no limit
  EXPECT_EQ(nvme::max_transfer(0, 16, 0), 1u << 30);   // capped for the int property
}

TEST(NvmeLimits, KernelTransferLimit) {
  EXPECT_EQ(nvme::kernel_transfer_limit(0, 0, 4096), 0u);
  EXPECT_EQ(nvme::kernel_transfer_limit(512, 0, 4096), 512u << 10);
  EXPECT_EQ(nvme::kernel_transfer_limit(512, 128, 4096), 127u * 4096);
  EXPECT_EQ(nvme::kernel_transfer_limit(256, 128, 4096), 256u << 10);
  EXPECT_EQ(nvme::kernel_transfer_limit(0, 33, 4096), 128u << 10);
}

TEST(NvmeLimits, Split) {
  // A 3 MiB + 512 read at max-transfer 512 KiB: six full pieces, one block.
  uint64_t remaining = (3u << 20) + 512, pieces = 0, last = 0;
  while (remaining > 0) {
    last = blkio::NvmeQueue::piece(remaining, 512u << 10);
    remaining -= last;
    pieces++;
  }
  EXPECT_EQ(pieces, 7u);
  EXPECT_EQ(last, 512u);
  EXPECT_EQ(blkio::NvmeQueue::piece(4096, 512u << 10), 4096u);
}

TEST(NvmeLimits, BlockDeviceName) {
  EXPECT_EQ(nvme::block_device_name("ng0n1"), "nvme0n1");
  EXPECT_EQ(nvme::block_device_name("ng12n34"), "nvme12n34");
  EXPECT_EQ(nvme::block_device_name("ng0"), "");
  EXPECT_EQ(nvme::block_device_name("ngxn1"), "");
  EXPECT_EQ(nvme::block_device_name("ng0n"), "");
  EXPECT_EQ(nvme::block_device_name("null"), "");
}

// The error a connect fails with, as "errno: message".
std::string connect_error(const std::string& key, const std::string& value) {
  auto d = blkio::create_driver("nvme-io_uring");
  d->set(key, value);
  try {
    d->connect();
  } catch (const blkio::Error& e) {
    return std::to_string(e.err()) + ": " + e.what();
  }
  return "connected";
}

TEST(NvmeDriver, ClearErrors) {
  EXPECT_EQ(connect_error("path", "/nonexistent/ng0n1"),
            std::to_string(ENOENT) + ": /nonexistent/ng0n1: No such file or directory");
  const std::string not_nvme = connect_error("path", "/dev/null");
  EXPECT_EQ(not_nvme.rfind(std::to_string(ENOTTY) + ": /dev/null: not an NVMe generic", 0), 0u)
      << not_nvme;
  char name[] = "/tmp/nvme-unit.XXXXXX";
  const int fd = ::mkstemp(name);
  ASSERT_NE(fd, -1);
  ::close(fd);
  const std::string file = connect_error("path", name);
  ::unlink(name);
  EXPECT_NE(file.find(std::string(name) + ": not a character device"), std::string::npos) << file;
  auto d = blkio::create_driver("nvme-io_uring");
  EXPECT_THROW(d->connect(), blkio::Error);  // neither path nor fd
  EXPECT_EQ(d->get("driver"), "nvme-io_uring");
}

// /dev/null's URING_CMD completes with 0 without doing anything (Linux
// 6.x): enough to run the 128-byte ring and the queue's own checks.
class NvmeNullQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ASSERT_NE(fd_, -1);
    target_.fd = fd_;
    target_.alignment = target_.buf_alignment = 512;
    target_.max_transfer = 4096;
    target_.write_zeroes = target_.deallocate = target_.flush = true;
    blkio::NvmeQueue probe(target_, 4);
    probe.flush(nullptr, 0);
    blkio::Completion c;
    if (probe.do_io(&c, 1, 1, nullptr) != 1 || c.ret != 0)
      GTEST_SKIP() << "this kernel's /dev/null does not take URING_CMD";
  }
  void TearDown() override { ::close(fd_); }

  static int run_one(blkio::Queue& q) {
    blkio::Completion c;
    return q.do_io(&c, 1, 1, nullptr) == 1 ? c.ret : -1000;
  }

  int fd_ = -1;
  blkio::NvmeTarget target_;
};

TEST_F(NvmeNullQueue, EveryRequestInPieces) {
  blkio::NvmeQueue q(target_, 2);
  alignas(4096) static char buf[64 << 10];
  q.read(0, buf, sizeof buf, nullptr, 0);  // 16 commands of 4 KiB
  EXPECT_EQ(run_one(q), 0);
  q.write(512, buf, 8192, nullptr, blkio::req::fua);
  EXPECT_EQ(run_one(q), 0);
  q.write_zeroes(0, 1u << 30, nullptr, 0);
  EXPECT_EQ(run_one(q), 0);
  q.discard(0, 1u << 20, nullptr, 0);
  EXPECT_EQ(run_one(q), 0);
  q.flush(nullptr, 0);
  EXPECT_EQ(run_one(q), 0);
}

TEST_F(NvmeNullQueue, CheckedWithoutTheDevice) {
  alignas(4096) static char buf[4096];
  target_.write_zeroes = target_.deallocate = target_.flush = false;
  blkio::NvmeQueue q(target_, 4);
  q.read(100, buf, 512, nullptr, 0);
  EXPECT_EQ(run_one(q), -EINVAL);  // not a whole block
  q.read(0, buf + 1, 512, nullptr, 0);
  EXPECT_EQ(run_one(q), -EINVAL);  // misaligned buffer
  q.write_zeroes(0, 512, nullptr, 0);
  EXPECT_EQ(run_one(q), -ENOTSUP);
  q.discard(0, 512, nullptr, 0);
  EXPECT_EQ(run_one(q), -ENOTSUP);
  q.flush(nullptr, 0);
  EXPECT_EQ(run_one(q), 0);  // no volatile cache: nothing to flush
  target_.read_only = true;
  blkio::NvmeQueue ro(target_, 4);
  ro.write(0, buf, 512, nullptr, 0);
  EXPECT_EQ(run_one(ro), -EBADF);
}

}  // namespace
