// The property table and the driver state machine: libblkio's access
// rules, errors and string conversions.
#include <gtest/gtest.h>

#include <cerrno>

#include "driver.hpp"
#include "properties.hpp"

namespace {

using blkio::Error;
using blkio::State;

// The errno a call throws, or 0.
template <class F>
int error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.err();
  }
  return 0;
}

TEST(BlkioValues, Parse) {
  EXPECT_EQ(std::get<bool>(blkio::parse_value(blkio::Type::boolean, "true")), true);
  EXPECT_EQ(std::get<bool>(blkio::parse_value(blkio::Type::boolean, "false")), false);
  for (const char* bad : {"1", "yes", "True", "", "true "})
    EXPECT_EQ(error_of([&] { blkio::parse_value(blkio::Type::boolean, bad); }), EINVAL) << bad;
  EXPECT_EQ(std::get<int32_t>(blkio::parse_value(blkio::Type::int32, "-2147483648")), INT32_MIN);
  EXPECT_EQ(std::get<int32_t>(blkio::parse_value(blkio::Type::int32, "2147483647")), INT32_MAX);
  for (const char* bad : {"2147483648", "1k", "", "0x10", " 1", "1.5"})
    EXPECT_EQ(error_of([&] { blkio::parse_value(blkio::Type::int32, bad); }), EINVAL) << bad;
  EXPECT_EQ(std::get<uint64_t>(blkio::parse_value(blkio::Type::uint64, "18446744073709551615")),
            UINT64_MAX);
  for (const char* bad : {"-1", "18446744073709551616", "abc"})
    EXPECT_EQ(error_of([&] { blkio::parse_value(blkio::Type::uint64, bad); }), EINVAL) << bad;
  EXPECT_EQ(std::get<std::string>(blkio::parse_value(blkio::Type::string, "a b")), "a b");
}

TEST(BlkioValues, Format) {
  EXPECT_EQ(blkio::format_value(true), "true");
  EXPECT_EQ(blkio::format_value(int32_t(-5)), "-5");
  EXPECT_EQ(blkio::format_value(uint64_t(1) << 40), "1099511627776");
  EXPECT_EQ(blkio::format_value(std::string("x")), "x");
}

class BlkioTable : public ::testing::Test {
 protected:
  void SetUp() override {
    table.add_variable("path", path, blkio::always, blkio::in_created);
    table.add_variable<int32_t>("num-entries", entries, blkio::after_connect,
                                blkio::in_connected, [](const int32_t& n) {
                                  if (n <= 0) throw Error(EINVAL, "num-entries must be > 0");
                                });
    table.add_readonly("capacity", blkio::Type::uint64, blkio::after_connect,
                       [] { return blkio::Value{uint64_t(4096)}; });
  }
  blkio::PropertyTable table;
  std::string path;
  int32_t entries = 128;
};

TEST_F(BlkioTable, Errors) {
  EXPECT_EQ(error_of([&] { table.get_string("nope", State::started); }), ENOENT);
  EXPECT_EQ(error_of([&] { table.set_string("nope", "1", State::created); }), ENOENT);
  EXPECT_EQ(error_of([&] { table.get_string("capacity", State::created); }), ENODEV);
  EXPECT_EQ(error_of([&] { table.set_string("capacity", "1", State::connected); }), EACCES);
  // The access error wins over a bad value.
  EXPECT_EQ(error_of([&] { table.set_string("capacity", "x", State::connected); }), EACCES);
  EXPECT_EQ(error_of([&] { table.set_string("path", "/x", State::connected); }), EBUSY);
  EXPECT_EQ(error_of([&] { table.set_string("num-entries", "1", State::created); }), ENODEV);
  EXPECT_EQ(error_of([&] { table.set_string("num-entries", "1", State::started); }), EBUSY);
  EXPECT_EQ(error_of([&] { table.set_string("num-entries", "many", State::connected); }), EINVAL);
  EXPECT_EQ(error_of([&] { table.set_string("num-entries", "0", State::connected); }), EINVAL);
  EXPECT_EQ(entries, 128);
  EXPECT_EQ(error_of([&] { table.set("num-entries", blkio::Value{true}, State::connected); }),
            ENOTTY);
}

TEST_F(BlkioTable, Messages) {
  try {
    table.set_string("path", "/x", State::started);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Cannot set property in started state");
  }
  try {
    table.get_string("nope", State::started);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Unknown property name");
  }
}

TEST_F(BlkioTable, SetAndGet) {
  table.set_string("path", "disk.img", State::created);
  EXPECT_EQ(path, "disk.img");
  EXPECT_EQ(table.get_string("path", State::created), "disk.img");
  table.set_string("num-entries", "64", State::connected);
  EXPECT_EQ(table.get_string("num-entries", State::started), "64");
  EXPECT_EQ(table.get_string("capacity", State::connected), "4096");
  // Adding a property again replaces it.
  table.add_readonly("capacity", blkio::Type::uint64, blkio::always,
                     [] { return blkio::Value{uint64_t(1)}; });
  EXPECT_EQ(table.get_string("capacity", State::created), "1");
  EXPECT_EQ(table.find("capacity")->type, blkio::Type::uint64);
  EXPECT_EQ(table.find("missing"), nullptr);
}

// A driver with no device, for the state machine and common properties.
class FakeQueue : public blkio::Queue {
 public:
  void read(uint64_t, void*, size_t, void*, uint32_t) override {}
  void write(uint64_t, const void*, size_t, void*, uint32_t) override {}
  void write_zeroes(uint64_t, uint64_t, void*, uint32_t) override {}
  void discard(uint64_t, uint64_t, void*, uint32_t) override {}
  void flush(void*, uint32_t) override {}
  int do_io(blkio::Completion*, int, int, timespec*) override { return 0; }
};

class FakeDriver : public blkio::Driver {
 public:
  FakeDriver() : Driver("fake") {}

 protected:
  void do_connect() override {
    info_.capacity = 1 << 20;
    info_.max_queues = 4;
  }
  std::vector<std::unique_ptr<blkio::Queue>> do_start() override {
    std::vector<std::unique_ptr<blkio::Queue>> queues;
    for (int i = 0; i < num_queues_; i++) queues.push_back(std::make_unique<FakeQueue>());
    return queues;
  }
};

TEST(BlkioDriver, Lifecycle) {
  FakeDriver d;
  EXPECT_EQ(d.state(), State::created);
  EXPECT_EQ(d.get("driver"), "fake");
  EXPECT_EQ(error_of([&] { d.get("capacity"); }), ENODEV);
  EXPECT_EQ(error_of([&] { d.start(); }), ENODEV);
  d.set("read-only", "true");
  EXPECT_EQ(error_of([&] { d.set("num-queues", "2"); }), ENODEV);
  d.connect();
  EXPECT_TRUE(d.read_only());
  EXPECT_EQ(d.get("capacity"), "1048576");
  EXPECT_EQ(d.get("max-queues"), "4");
  EXPECT_EQ(error_of([&] { d.set("read-only", "false"); }), EBUSY);
  d.set("num-queues", "5");
  EXPECT_EQ(error_of([&] { d.start(); }), EINVAL);
  EXPECT_EQ(d.state(), State::connected);
  d.set("num-queues", "3");
  d.start();
  EXPECT_EQ(d.num_queues(), 3);
  EXPECT_EQ(d.get("num-queues"), "3");
  EXPECT_EQ(error_of([&] { d.set("num-queues", "1"); }), EBUSY);
}

TEST(BlkioDriver, MemRegion) {
  FakeDriver d;
  d.connect();
  d.start();
  blkio::MemRegion r = d.alloc_mem_region(1 << 16);
  ASSERT_NE(r.addr, nullptr);
  EXPECT_NE(r.fd, -1);
  static_cast<char*>(r.addr)[100] = 'x';
  d.free_mem_region(r);
}

TEST(BlkioRegistry, UnknownAndUnavailable) {
  EXPECT_EQ(error_of([] { blkio::create_driver("floppy"); }), ENOENT);
  EXPECT_EQ(error_of([] { blkio::create_driver("virtio-blk-vhost-vdpa"); }), ENOTSUP);
  bool found = false;
  for (const auto& d : blkio::known_drivers()) found |= d.name == "nvme-io_uring";
  EXPECT_TRUE(found);
}

}  // namespace
