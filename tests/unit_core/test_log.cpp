#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nbdkit/plugin.hpp>

#include "log.hpp"

namespace {

using nbdkit::server::LogTarget;
using nbdkit::server::Options;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/unit_core_logXXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    nbdkit::server::configure_logging(Options{});
    nbdkit::server::set_thread_log_name(nullptr);
    std::remove((dir_ + "/log").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(LogTest, ErrorsGoToTheLogFileWithTheLayerName) {
  Options options;
  options.log = LogTarget::file;
  options.log_file = dir_ + "/log";
  nbdkit::server::configure_logging(options);
  nbdkit::server::set_thread_log_name("memory");
  errno = ENOSPC;
  nbdkit::error("disk %s is %d%% full\n", "x", 100);
  EXPECT_EQ(errno, ENOSPC);  // plugins may log and then return errno
  nbdkit::server::set_thread_log_name(nullptr);
  nbdkit::error("plain");
  EXPECT_EQ(read_file(dir_ + "/log"),
            "nbdkit: memory: error: disk x is 100% full\nnbdkit: error: plain\n");
}

TEST_F(LogTest, LogFileIsAppendedTo) {
  { std::ofstream(dir_ + "/log") << "earlier\n"; }
  Options options;
  options.log = LogTarget::file;
  options.log_file = dir_ + "/log";
  nbdkit::server::configure_logging(options);
  nbdkit::error("later");
  EXPECT_EQ(read_file(dir_ + "/log"), "earlier\nnbdkit: error: later\n");
}

TEST_F(LogTest, UnopenableLogFileIsAnError) {
  Options options;
  options.log = LogTarget::file;
  options.log_file = dir_ + "/missing/log";
  EXPECT_THROW(nbdkit::server::configure_logging(options), nbdkit::Error);
}

TEST_F(LogTest, NullTargetDropsErrors) {
  Options options;
  options.log = LogTarget::null;
  nbdkit::server::configure_logging(options);
  testing::internal::CaptureStderr();
  nbdkit::error("dropped");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST_F(LogTest, DebugOnlyWithVerboseAndAlwaysToStderr) {
  testing::internal::CaptureStderr();
  nbdkit::debug("hidden");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(nbdkit::server::verbose());

  Options options;
  options.verbose = true;
  options.log = LogTarget::null;
  nbdkit::server::configure_logging(options);
  EXPECT_TRUE(nbdkit::server::verbose());
  nbdkit::server::set_thread_log_name("delay");
  testing::internal::CaptureStderr();
  nbdkit::debug("shown %d", 42);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "nbdkit: delay: debug: shown 42\n");
}

TEST_F(LogTest, DefaultTargetIsStderrInTheForeground) {
  nbdkit::server::configure_logging(Options{});
  nbdkit::server::logging_after_fork(false);
  testing::internal::CaptureStderr();
  nbdkit::error("visible");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "nbdkit: error: visible\n");
}

TEST_F(LogTest, DebugFlags) {
  Options options;
  options.debug_flags["memory.dir"] = 3;
  options.debug_flags["nbdkit.backend.datapath"] = 0;
  nbdkit::server::configure_logging(options);
  EXPECT_EQ(nbdkit::debug_flag("memory", "dir"), 3);
  EXPECT_EQ(nbdkit::debug_flag("nbdkit", "backend.datapath"), 0);
  EXPECT_EQ(nbdkit::debug_flag("memory", "other"), 0);
  EXPECT_EQ(nbdkit::debug_flag("other", "dir"), 0);
}

}  // namespace
