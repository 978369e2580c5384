// Unit tests of the memory plugin's allocators, without the server.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"
#include "page_directory.hpp"
#include "preload.hpp"

namespace {

namespace extent = nbdkit::extent;
using memory::Allocator;

struct Extent {
  uint64_t offset, length;
  uint32_t type;
  bool operator==(const Extent&) const = default;
};

std::vector<Extent> extents_of(Allocator& disk, uint64_t count, uint64_t offset,
                               bool one_is_enough = false) {
  std::vector<Extent> out;
  EXPECT_EQ(0, disk.extents(count, offset, one_is_enough,
                            [&](uint64_t at, uint64_t length, uint32_t type) {
                              if (!out.empty() && out.back().type == type &&
                                  out.back().offset + out.back().length == at) {
                                out.back().length += length;
                              } else {
                                out.push_back({at, length, type});
                              }
                              return 0;
                            }));
  return out;
}

std::vector<char> pattern(std::size_t length, unsigned seed) {
  std::vector<char> bytes(length);
  std::mt19937 random(seed);
  for (char& byte : bytes) byte = static_cast<char>(random() | 1);  // never zero
  return bytes;
}

uint64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(PageDirectory, FindsWhatWasStoredAndSkipsEmptySubtrees) {
  const uint64_t pages = uint64_t{1} << 47;  // a 2^63 byte disk of 64 KiB pages
  memory::PageDirectory<int> directory(pages);
  int first = 1, last = 2;
  EXPECT_EQ(nullptr, directory.find(0));
  directory.slot(5).store(&first);
  directory.slot(pages - 1).store(&last);
  EXPECT_EQ(&first, directory.find(5));
  EXPECT_EQ(&last, directory.find(pages - 1));
  EXPECT_EQ(nullptr, directory.find(6));
  EXPECT_EQ(0u, directory.skip_missing(0, pages));
  // Index 4096 starts a leaf node nobody created; the next one that
  // exists holds the last page.
  EXPECT_EQ((pages - 1) & ~uint64_t{4095}, directory.skip_missing(4096, pages));
  EXPECT_EQ(pages - 4096 * 3, directory.skip_missing(4096, pages - 4096 * 3));
  std::vector<uint64_t> seen;
  directory.for_each_page([&](uint64_t index, int*) { seen.push_back(index); });
  EXPECT_EQ((std::vector<uint64_t>{5, pages - 1}), seen);
}

TEST(PageDirectory, TinyDisk) {
  memory::PageDirectory<int> directory(1);
  int page = 0;
  directory.slot(0).store(&page);
  EXPECT_EQ(&page, directory.find(0));
  EXPECT_EQ(0u, directory.skip_missing(0, 1));
}

class EveryAllocator : public testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Allocator> make(uint64_t size) {
    if (GetParam() == "malloc") return memory::make_malloc_allocator(size, false);
    if (GetParam() == "zstd") return memory::make_zstd_allocator(size);
    return memory::make_sparse_allocator(size);
  }
};

TEST_P(EveryAllocator, StartsAsZeroes) {
  auto disk = make(1 << 20);
  std::vector<char> buffer(1 << 20, 'x');
  disk->read(buffer.data(), buffer.size(), 0);
  EXPECT_TRUE(memory::is_all_zero(buffer.data(), buffer.size()));
}

TEST_P(EveryAllocator, UnalignedWritesReadBack) {
  const uint64_t size = 1 << 20;
  auto disk = make(size);
  std::vector<char> expected(size, 0);
  std::mt19937 random(7);
  for (int i = 0; i < 200; ++i) {
    const uint64_t length = 1 + random() % 200000;
    const uint64_t offset = random() % (size - length);
    const auto data = pattern(length, i);
    disk->write(data.data(), length, offset);
    std::memcpy(expected.data() + offset, data.data(), length);
    if (i % 5 == 0) {
      const uint64_t zero_length = 1 + random() % 100000;
      const uint64_t zero_offset = random() % (size - zero_length);
      disk->zero(zero_length, zero_offset);
      std::memset(expected.data() + zero_offset, 0, zero_length);
    }
  }
  std::vector<char> actual(size);
  disk->read(actual.data(), size, 0);
  EXPECT_TRUE(expected == actual);
  // Reads of pieces agree with the whole.
  std::vector<char> piece(70000);
  disk->read(piece.data(), piece.size(), 12345);
  EXPECT_EQ(0, std::memcmp(piece.data(), expected.data() + 12345, piece.size()));
}

TEST_P(EveryAllocator, SizeNotAMultipleOfThePage) {
  const uint64_t size = 100000;
  auto disk = make(size);
  const auto data = pattern(size, 3);
  disk->write(data.data(), size, 0);
  disk->zero(10, size - 10);
  std::vector<char> actual(size);
  disk->read(actual.data(), size, 0);
  EXPECT_EQ(0, std::memcmp(actual.data(), data.data(), size - 10));
  EXPECT_TRUE(memory::is_all_zero(actual.data() + size - 10, 10));
  const auto map = extents_of(*disk, size, 0);
  ASSERT_FALSE(map.empty());
  EXPECT_EQ(0u, map.front().offset);
  EXPECT_EQ(size, map.back().offset + map.back().length);
}

TEST_P(EveryAllocator, ConcurrentClientsOwningRanges) {
  const uint64_t range = 1 << 20;
  const int clients = 4;
  auto disk = make(range * clients);
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int client = 0; client < clients; ++client) {
    threads.emplace_back([&, client] {
      std::mt19937 random(client);
      std::vector<char> back;
      for (int round = 0; round < 120; ++round) {
        const uint64_t length = 1 + random() % 100000;
        const uint64_t offset = client * range + random() % (range - length);
        const auto data = pattern(length, round * clients + client);
        disk->write(data.data(), length, offset);
        back.resize(length);
        disk->read(back.data(), length, offset);
        if (back != data) ++failures;
        if (round % 3 == 0) {
          disk->zero(length, offset);
          disk->read(back.data(), length, offset);
          if (!memory::is_all_zero(back.data(), length)) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(0, failures.load());
}

// Readers copying a page while other threads write and free it must see
// either the whole old or the whole new contents of each page.
TEST_P(EveryAllocator, PagesAreNeverTornOrFreedUnderAReader) {
  auto disk = make(1 << 20);
  const uint32_t page = 64 * 1024;
  std::atomic<bool> stop = false;
  std::atomic<int> torn = 0;
  std::thread writer([&] {
    std::vector<char> fill(page);
    for (int round = 0; round < 2000; ++round) {
      std::memset(fill.data(), 1 + round % 250, page);
      disk->write(fill.data(), page, 0);
      disk->zero(page, 0);
    }
    stop = true;
  });
  std::thread reader([&] {
    std::vector<char> seen(page);
    for (int round = 0; round < 200000 && !stop; ++round) {
      disk->read(seen.data(), page, 0);
      if (std::memcmp(seen.data(), seen.data() + 1, page - 1) != 0) ++torn;
    }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(0, torn.load());
}

INSTANTIATE_TEST_SUITE_P(Allocators, EveryAllocator, testing::Values("sparse", "malloc", "zstd"));

class SparseLike : public EveryAllocator {};

TEST_P(SparseLike, HugeDiskWrittenFarAway) {
  const uint64_t size = (uint64_t{1} << 63) - 1;
  auto disk = make(size);
  const uint64_t offset = uint64_t{1} << 62;
  const char message[] = "hello, far away";
  disk->write(message, sizeof message, offset);
  char back[sizeof message] = {};
  disk->read(back, sizeof back, offset);
  EXPECT_STREQ(message, back);
  const uint32_t page = disk->page_size();
  const auto map = extents_of(*disk, uint64_t{1} << 32, offset - (uint64_t{1} << 31));
  ASSERT_EQ(3u, map.size());
  EXPECT_EQ((Extent{offset - (uint64_t{1} << 31), uint64_t{1} << 31, extent::hole | extent::zero}),
            map[0]);
  EXPECT_EQ((Extent{offset, page, extent::data}), map[1]);
  EXPECT_EQ(extent::hole | extent::zero, map[2].type);
  // The last byte of the disk.
  disk->write("z", 1, size - 1);
  char last = 0;
  disk->read(&last, 1, size - 1);
  EXPECT_EQ('z', last);
}

TEST_P(SparseLike, ExtentsAndFreeing) {
  auto disk = make(1 << 20);
  const uint32_t page = disk->page_size();
  std::vector<uint64_t> freed;
  disk->set_page_freed_hook([&](uint64_t offset, uint64_t) { freed.push_back(offset); });
  const auto data = pattern(3 * page, 1);
  disk->write(data.data(), data.size(), page);  // pages 1, 2, 3
  EXPECT_EQ((std::vector<Extent>{{0, page, extent::hole | extent::zero},
                                 {page, 3ull * page, extent::data},
                                 {4ull * page, (1 << 20) - 4ull * page, extent::hole | extent::zero}}),
            extents_of(*disk, 1 << 20, 0));
  EXPECT_EQ((std::vector<Extent>{{0, page, extent::hole | extent::zero}}),
            extents_of(*disk, 1 << 20, 0, true));
  // Zeroing a page in two halves frees it when the second half goes.
  disk->zero(page / 2, 2 * page);
  EXPECT_TRUE(freed.empty());
  disk->zero(page / 2, 2 * page + page / 2);
  EXPECT_EQ((std::vector<uint64_t>{2ull * page}), freed);
  // A whole page of zeroes written frees the page too.
  const std::vector<char> zeroes(page);
  disk->write(zeroes.data(), page, 3 * page);
  EXPECT_EQ((std::vector<uint64_t>{2ull * page, 3ull * page}), freed);
  EXPECT_EQ((std::vector<Extent>{{0, page, extent::hole | extent::zero},
                                 {page, page, extent::data},
                                 {2ull * page, (1 << 20) - 2ull * page, extent::hole | extent::zero}}),
            extents_of(*disk, 1 << 20, 0));
}

INSTANTIATE_TEST_SUITE_P(Allocators, SparseLike, testing::Values("sparse", "zstd"));

TEST(Sparse, AllZeroPageThatIsStillAllocatedIsZeroNotHole) {
  auto disk = memory::make_sparse_allocator(1 << 20);
  const char zero_byte = 0;
  disk->write(&zero_byte, 1, 10);  // allocates page 0, contents zero
  const auto map = extents_of(*disk, 1 << 20, 0);
  ASSERT_EQ(2u, map.size());
  EXPECT_EQ((Extent{0, 64 * 1024, extent::zero}), map[0]);
}

TEST(Sparse, TrimmingGivesMemoryBack) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow of the page pool (an eighth of what was written) stays
  // resident after the pages themselves are given back.
  GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer";
#endif
  const uint64_t size = uint64_t{256} << 20;
  auto disk = memory::make_sparse_allocator(size);
  const auto data = pattern(4 << 20, 9);
  const uint64_t before = resident_bytes();
  for (uint64_t offset = 0; offset < size; offset += data.size()) {
    disk->write(data.data(), data.size(), offset);
  }
  const uint64_t filled = resident_bytes();
  EXPECT_GT(filled, before + size / 2);
  disk->zero(size, 0);
  const uint64_t trimmed = resident_bytes();
  EXPECT_LT(trimmed, before + size / 20) << "before " << before << " filled " << filled;
  // Freed pages are reused, and read back as zeroes until written.
  disk->write(data.data(), 100, 12345);
  std::vector<char> back(64 * 1024);
  disk->read(back.data(), back.size(), 0);
  EXPECT_TRUE(memory::is_all_zero(back.data(), 12345));
  EXPECT_EQ(0, std::memcmp(back.data() + 12345, data.data(), 100));
  EXPECT_TRUE(memory::is_all_zero(back.data() + 12445, back.size() - 12445));
}

TEST(Malloc, ReportsEverythingAsData) {
  auto disk = memory::make_malloc_allocator(1 << 20, false);
  EXPECT_EQ((std::vector<Extent>{{0, 1 << 20, extent::data}}), extents_of(*disk, 1 << 20, 0));
}

TEST(Malloc, MlockBeyondTheLimitIsAClearError) {
  try {
    memory::make_malloc_allocator(uint64_t{1} << 40, true);
    GTEST_SKIP() << "locking 1 TiB succeeded";
  } catch (const nbdkit::Error& e) {
    EXPECT_NE(nullptr, std::strstr(e.what(), "allocator=malloc")) << e.what();
  }
}

TEST(IsAllZero, FindsTheOddByte) {
  std::vector<char> bytes(100000);
  EXPECT_TRUE(memory::is_all_zero(bytes.data(), bytes.size()));
  for (std::size_t at : {0, 1, 15, 16, 17, 50000, 99999}) {
    bytes[at] = 1;
    EXPECT_FALSE(memory::is_all_zero(bytes.data(), bytes.size())) << at;
    bytes[at] = 0;
  }
  EXPECT_TRUE(memory::is_all_zero(bytes.data(), 0));
}

class Preload : public testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/memory-preload-XXXXXX";
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { unlink(path_.c_str()); }
  std::string path_;
};

TEST_F(Preload, CopiesDataAndSkipsHolesAndZeroBlocks) {
  const uint64_t image_size = 5 << 20;
  const auto data = pattern(100000, 5);
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(3 << 20);
    file.write(data.data(), data.size());
    file.seekp(image_size - 1);
    file.put('\0');  // sets the size, leaves a hole and then a zero block
  }
  auto disk = memory::make_sparse_allocator(8 << 20);
  memory::preload_image(*disk, 8 << 20, path_);
  std::vector<char> back(data.size());
  disk->read(back.data(), back.size(), 3 << 20);
  EXPECT_TRUE(back == data);
  const auto map = extents_of(*disk, 8 << 20, 0);
  ASSERT_EQ(3u, map.size());
  EXPECT_EQ((Extent{3 << 20, 2 * 64 * 1024, extent::data}), map[1]);
}

TEST_F(Preload, ImageLargerThanTheDiskIsRefused) {
  ASSERT_EQ(0, truncate(path_.c_str(), 2 << 20));
  auto disk = memory::make_sparse_allocator(1 << 20);
  EXPECT_THROW(memory::preload_image(*disk, 1 << 20, path_), nbdkit::Error);
}

TEST(PreloadMissing, IsRefused) {
  auto disk = memory::make_sparse_allocator(1 << 20);
  EXPECT_THROW(memory::preload_image(*disk, 1 << 20, "/nonexistent/image"), nbdkit::Error);
}

}  // namespace
