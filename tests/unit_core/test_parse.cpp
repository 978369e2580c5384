#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <gtest/gtest.h>
#include <nbdkit/plugin.hpp>

namespace {

uint64_t size(const char* text) { return nbdkit::parse_size("size", text); }

TEST(ParseSize, PlainNumbersAndEverySuffix) {
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("12345"), 12345u);
  EXPECT_EQ(size("7b"), 7u);
  EXPECT_EQ(size("7B"), 7u);
  EXPECT_EQ(size("3s"), 3u * 512);
  EXPECT_EQ(size("3S"), 3u * 512);
  EXPECT_EQ(size("2k"), 2u << 10);
  EXPECT_EQ(size("2K"), 2u << 10);
  EXPECT_EQ(size("2m"), 2u << 20);
  EXPECT_EQ(size("2M"), 2u << 20);
  EXPECT_EQ(size("2g"), uint64_t{2} << 30);
  EXPECT_EQ(size("2G"), uint64_t{2} << 30);
  EXPECT_EQ(size("2t"), uint64_t{2} << 40);
  EXPECT_EQ(size("2T"), uint64_t{2} << 40);
  EXPECT_EQ(size("2p"), uint64_t{2} << 50);
  EXPECT_EQ(size("2P"), uint64_t{2} << 50);
  EXPECT_EQ(size("7e"), uint64_t{7} << 60);
  EXPECT_EQ(size("7E"), uint64_t{7} << 60);
}

TEST(ParseSize, AcceptsWhatStrtoimaxAcceptsLikeNbdkit) {
  EXPECT_EQ(size(" 1M"), 1u << 20);
  EXPECT_EQ(size("+1M"), 1u << 20);
  EXPECT_EQ(size("0010"), 10u);
}

TEST(ParseSize, LimitIsTwoToThe63MinusOne) {
  EXPECT_EQ(size("9223372036854775807"), uint64_t{INT64_MAX});
  EXPECT_THROW(size("9223372036854775808"), nbdkit::Error);
  EXPECT_THROW(size("99999999999999999999999"), nbdkit::Error);
  EXPECT_THROW(size("8E"), nbdkit::Error);
  EXPECT_THROW(size("8388608T"), nbdkit::Error);
  EXPECT_EQ(size("8388607T"), uint64_t{8388607} << 40);
}

TEST(ParseSize, RejectsGarbageNegativeAndUnknownSuffixes) {
  for (const char* bad : {"", " ", "M", "abc", "1MiB", "1MB", "1.5M", "0x10", "1K2", "1 M",
                          "1M ", "-1", "-0x1", "--1", "1x", "-9223372036854775809"}) {
    EXPECT_THROW(size(bad), nbdkit::Error) << "'" << bad << "'";
  }
}

TEST(ParseSize, ErrorNamesWhatAndText) {
  try {
    nbdkit::parse_size("memory size", "12Q");
    FAIL() << "no exception";
  } catch (const nbdkit::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("memory size"), std::string::npos) << message;
    EXPECT_NE(message.find("12Q"), std::string::npos) << message;
    EXPECT_EQ(e.errno_value, EINVAL);
  }
}

TEST(ParseBool, EverySpellingAnyCase) {
  for (const char* yes : {"1", "true", "t", "yes", "y", "on", "TRUE", "True", "T", "YES", "Y", "ON", "oN"})
    EXPECT_TRUE(nbdkit::parse_bool("b", yes)) << yes;
  for (const char* no : {"0", "false", "f", "no", "n", "off", "FALSE", "F", "NO", "N", "OFF", "Off"})
    EXPECT_FALSE(nbdkit::parse_bool("b", no)) << no;
  for (const char* bad : {"", "2", "yess", "tru", " on", "on ", "enable", "-1", "o"})
    EXPECT_THROW(nbdkit::parse_bool("b", bad), nbdkit::Error) << "'" << bad << "'";
}

uint64_t delay(const char* text) { return nbdkit::parse_delay("delay", text); }

TEST(ParseDelay, SecondsFractionsAndUnits) {
  EXPECT_EQ(delay("0"), 0u);
  EXPECT_EQ(delay("1"), 1'000'000'000u);
  EXPECT_EQ(delay("1s"), 1'000'000'000u);
  EXPECT_EQ(delay("1.5"), 1'500'000'000u);
  EXPECT_EQ(delay("1.5s"), 1'500'000'000u);
  EXPECT_EQ(delay("0.1"), 100'000'000u);
  EXPECT_EQ(delay(".25"), 250'000'000u);
  EXPECT_EQ(delay("200ms"), 200'000'000u);
  EXPECT_EQ(delay("1.5ms"), 1'500'000u);
  EXPECT_EQ(delay("7us"), 7'000u);
  EXPECT_EQ(delay("7\xce\xbcs"), 7'000u);
  EXPECT_EQ(delay("42ns"), 42u);
  EXPECT_EQ(delay("1.000000001"), 1'000'000'001u);
}

TEST(ParseDelay, RejectsBadInput) {
  for (const char* bad : {"", "s", ".", "-1", "-0.5s", "1m", "1 s", "1sec", "abc", "1..2",
                          "99999999999999999999"})
    EXPECT_THROW(delay(bad), nbdkit::Error) << "'" << bad << "'";
}

TEST(ParseInt, DecimalHexOctalAndLimits) {
  EXPECT_EQ(nbdkit::parse_int("n", "42"), 42);
  EXPECT_EQ(nbdkit::parse_int("n", "-42"), -42);
  EXPECT_EQ(nbdkit::parse_int("n", "0x1f"), 31);
  EXPECT_EQ(nbdkit::parse_int("n", "010"), 8);
  EXPECT_EQ(nbdkit::parse_int("n", "9223372036854775807"), INT64_MAX);
  EXPECT_EQ(nbdkit::parse_int("n", "-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", " 1", "1 ", "x", "1x", "0x", "9223372036854775808", "1.0", "08"})
    EXPECT_THROW(nbdkit::parse_int("n", bad), nbdkit::Error) << "'" << bad << "'";
}

TEST(AbsolutePath, RelativeToStartDirectory) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(nbdkit::absolute_path("/a/b"), "/a/b");
  EXPECT_EQ(nbdkit::absolute_path("disk.img"), std::string(cwd) + "/disk.img");
  EXPECT_THROW(nbdkit::absolute_path(""), nbdkit::Error);
}

TEST(ThreadModel, Names) {
  using nbdkit::ThreadModel;
  EXPECT_STREQ(nbdkit::to_string(ThreadModel::serialize_connections), "serialize_connections");
  EXPECT_STREQ(nbdkit::to_string(ThreadModel::serialize_all_requests), "serialize_all_requests");
  EXPECT_STREQ(nbdkit::to_string(ThreadModel::serialize_requests), "serialize_requests");
  EXPECT_STREQ(nbdkit::to_string(ThreadModel::parallel), "parallel");
}

// A context implementing only what is required, to reach the defaults.
class MinimalContext : public nbdkit::Context {
 public:
  uint64_t get_size() override { return 1024; }
  int pread(void*, uint32_t, uint64_t, uint32_t) override { return 0; }
};

TEST(ContextDefaults, UnsupportedCallsGiveNbdkitErrnos) {
  MinimalContext context;
  char buffer[16] = {};
  EXPECT_EQ(context.pwrite(buffer, sizeof buffer, 0, 0), EROFS);
  EXPECT_EQ(context.flush(0), EINVAL);
  EXPECT_EQ(context.trim(16, 0, 0), EINVAL);
  EXPECT_EQ(context.zero(16, 0, 0), EOPNOTSUPP);
  EXPECT_EQ(context.cache(16, 0, 0), EINVAL);
  EXPECT_EQ(context.can_fua(), nbdkit::FuaSupport::none);

  nbdkit::ExtentList extents(100, 300);
  EXPECT_EQ(context.extents(200, 100, 0, extents), 0);
  ASSERT_EQ(extents.extents().size(), 1u);
  EXPECT_EQ(extents.extents()[0].offset, 100u);
  EXPECT_EQ(extents.extents()[0].length, 200u);
  EXPECT_EQ(extents.extents()[0].type, nbdkit::extent::data);
}

class MinimalPlugin : public nbdkit::Plugin {
 public:
  std::unique_ptr<nbdkit::Context> open(bool, std::string_view, bool) override {
    return std::make_unique<MinimalContext>();
  }
};

TEST(PluginDefaults, ConfigRejectsEveryKeyNamingIt) {
  MinimalPlugin plugin;
  try {
    plugin.config("colour", "blue");
    FAIL() << "no exception";
  } catch (const nbdkit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
  }
}

}  // namespace
