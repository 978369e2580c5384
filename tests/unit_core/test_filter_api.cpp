// The filter API's chained calls (config, preconnect, exports), reopen(),
// and the services: typed parsers, the connection view and the
// interruptible sleep.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nbdkit/plugin.hpp>

#include "backend.hpp"
#include "current_connection.hpp"
#include "lifecycle.hpp"

namespace {

using nbdkit::Context;
using nbdkit::FilterContext;
using nbdkit::server::Backend;

std::vector<std::string>& seen() {
  static std::vector<std::string> log;
  return log;
}

class CountingContext : public Context {
 public:
  explicit CountingContext(int generation) : generation_(generation) {}
  uint64_t get_size() override { return static_cast<uint64_t>(generation_); }
  int pread(void*, uint32_t, uint64_t, uint32_t) override { return 0; }

 private:
  int generation_;
};

class ApiPlugin : public nbdkit::Plugin {
 public:
  void config(std::string_view key, std::string_view value) override {
    seen().push_back("plugin " + std::string(key) + "=" + std::string(value));
  }
  void preconnect(bool) override { seen().push_back("plugin preconnect"); }
  std::vector<nbdkit::ExportInfo> list_exports(bool, bool) override {
    return {{"a", ""}, {"secret", ""}};
  }
  std::string default_export(bool, bool) override { return "a"; }
  std::unique_ptr<Context> open(bool, std::string_view, bool) override {
    return std::make_unique<CountingContext>(++opens_);
  }

 private:
  int opens_ = 0;
};

// Renames `old=` to `new=`, consumes `drop=`, and splits `both=X` in two.
class RewritingFilter : public nbdkit::Filter {
 public:
  void config_chained(const nbdkit::ConfigNext& next, std::string_view key,
                      std::string_view value) override {
    if (key == "old") return next("new", value);
    if (key == "drop") return;
    if (key == "both") {
      next("first", value);
      return next("second", value);
    }
    next(key, value);
  }
  void preconnect_chained(const nbdkit::PreconnectNext& next, bool readonly) override {
    seen().push_back("filter preconnect");
    if (refuse) throw nbdkit::Error("refused");
    next(readonly);
  }
  std::vector<nbdkit::ExportInfo> list_exports(const nbdkit::ListExportsNext& next, bool readonly,
                                               bool is_tls) override {
    auto exports = next(readonly, is_tls);
    std::erase_if(exports, [](const auto& e) { return e.name == "secret"; });
    return exports;
  }
  std::string default_export(const nbdkit::DefaultExportNext& next, bool readonly,
                             bool is_tls) override {
    return "default-" + next(readonly, is_tls);
  }
  std::unique_ptr<Context> open(const nbdkit::OpenNext& next, bool readonly,
                                std::string_view exportname, bool) override {
    return std::make_unique<Reopening>(next, readonly, exportname);
  }

  // Reopens the plugin on every read, as retry does after a failure.
  class Reopening : public FilterContext {
   public:
    using FilterContext::FilterContext;
    int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
      reopen();
      return next().pread(buf, count, offset, flags);
    }
  };
  static inline bool refuse = false;
};

// Keeps the old bool config(): keys it does not own go down unchanged.
class OldStyleFilter : public nbdkit::Filter {
 public:
  bool config(std::string_view key, std::string_view) override { return key == "mine"; }
};

NBDKIT_REGISTER_PLUGIN("unittest-api-plugin", ApiPlugin);

}  // namespace

namespace rewriting { NBDKIT_REGISTER_FILTER("unittest-rewriting", RewritingFilter); }
namespace oldstyle { NBDKIT_REGISTER_FILTER("unittest-oldstyle", OldStyleFilter); }

namespace {

class FilterApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seen().clear();
    RewritingFilter::refuse = false;
  }
};

TEST_F(FilterApiTest, ConfigKeysCanBeRenamedConsumedAndSplit) {
  Backend backend("unittest-api-plugin", {"unittest-oldstyle", "unittest-rewriting"});
  backend.config("old", "1");
  backend.config("drop", "2");
  backend.config("both", "3");
  backend.config("mine", "4");
  backend.config("other", "5");
  EXPECT_EQ(seen(), (std::vector<std::string>{"plugin new=1", "plugin first=3", "plugin second=3",
                                              "plugin other=5"}));
}

TEST_F(FilterApiTest, PreconnectIsChainedAndCanRefuse) {
  Backend backend("unittest-api-plugin", {"unittest-rewriting"});
  backend.preconnect(false);
  EXPECT_EQ(seen(), (std::vector<std::string>{"filter preconnect", "plugin preconnect"}));
  seen().clear();
  RewritingFilter::refuse = true;
  EXPECT_THROW(backend.preconnect(false), nbdkit::Error);
  EXPECT_EQ(seen(), (std::vector<std::string>{"filter preconnect"}));
}

TEST_F(FilterApiTest, FiltersSeeAndChangeExports) {
  Backend backend("unittest-api-plugin", {"unittest-oldstyle", "unittest-rewriting"});
  const auto exports = backend.list_exports(false, false);
  ASSERT_EQ(exports.size(), 1u);
  EXPECT_EQ(exports[0].name, "a");
  EXPECT_EQ(backend.default_export(false, false), "default-a");
}

TEST_F(FilterApiTest, ReopenReplacesTheLayerBelow) {
  Backend backend("unittest-api-plugin", {"unittest-rewriting"});
  auto context = backend.open(false, "x", false);
  EXPECT_EQ(context->get_size(), 1u);
  char byte;
  EXPECT_EQ(context->pread(&byte, 1, 0, 0), 0);
  EXPECT_EQ(context->get_size(), 2u);
  EXPECT_EQ(context->pread(&byte, 1, 0, 0), 0);
  EXPECT_EQ(context->get_size(), 3u);
}

TEST_F(FilterApiTest, ReopenNeedsTheOpenNextConstructor) {
  class Plain : public FilterContext {
   public:
    using FilterContext::FilterContext;
    void try_reopen() { reopen(); }
  };
  Plain plain(std::make_unique<CountingContext>(1));
  EXPECT_THROW(plain.try_reopen(), nbdkit::Error);
}

TEST(TypedParsers, EachWidthChecksItsRange) {
  EXPECT_EQ(nbdkit::parse_int8("x", "-128"), -128);
  EXPECT_THROW(nbdkit::parse_int8("x", "128"), nbdkit::Error);
  EXPECT_EQ(nbdkit::parse_int16("x", "0x7fff"), 0x7fff);
  EXPECT_THROW(nbdkit::parse_int16("x", "-32769"), nbdkit::Error);
  EXPECT_EQ(nbdkit::parse_int32("x", "-2147483648"), INT32_MIN);
  EXPECT_THROW(nbdkit::parse_int32("x", "2147483648"), nbdkit::Error);
  EXPECT_EQ(nbdkit::parse_int64("x", "9223372036854775807"), INT64_MAX);
  EXPECT_EQ(nbdkit::parse_uint8("x", "255"), 255);
  EXPECT_THROW(nbdkit::parse_uint8("x", "256"), nbdkit::Error);
  EXPECT_THROW(nbdkit::parse_uint8("x", "-1"), nbdkit::Error);
  EXPECT_EQ(nbdkit::parse_uint16("x", "010"), 8);
  EXPECT_EQ(nbdkit::parse_uint32("x", "4294967295"), UINT32_MAX);
  EXPECT_THROW(nbdkit::parse_uint32("x", "4294967296"), nbdkit::Error);
  EXPECT_EQ(nbdkit::parse_uint64("x", "18446744073709551615"), UINT64_MAX);
  EXPECT_THROW(nbdkit::parse_uint64("x", "18446744073709551616"), nbdkit::Error);
  for (const char* bad : {"", " 1", "1x", "x", "+1"})
    EXPECT_THROW(nbdkit::parse_uint32("x", bad), nbdkit::Error) << bad;
}

TEST(TypedParsers, ProbabilitiesInEveryForm) {
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "10%"), 0.1);
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "0.1"), 0.1);
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "1:10"), 0.1);
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "1/10"), 0.1);
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "100%"), 1.0);
  EXPECT_DOUBLE_EQ(nbdkit::parse_probability("p", "0"), 0.0);
  for (const char* bad : {"", "%", "-1", "1:0", "a", "1e3", "1:2:3", "10%%"})
    EXPECT_THROW(nbdkit::parse_probability("p", bad), nbdkit::Error) << bad;
}

TEST(CurrentConnection, NoneOutsideAConnection) {
  EXPECT_EQ(nbdkit::current_connection(), nullptr);
}

TEST(CurrentConnection, UnixPeerCredentialsAndExportName) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  {
    nbdkit::server::ConnectionScope scope(fds[0]);
    const nbdkit::ConnectionInfo* info = nbdkit::current_connection();
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->peer.ss_family, AF_UNIX);
    EXPECT_EQ(info->peer_uid, ::getuid());
    EXPECT_EQ(info->peer_gid, ::getgid());
    EXPECT_EQ(info->peer_pid, ::getpid());
    nbdkit::server::set_current_export("disk", true);
    EXPECT_EQ(info->export_name, "disk");
    EXPECT_TRUE(info->tls);
    // A worker thread sees the same connection.
    auto shared = nbdkit::server::current_connection_state();
    const nbdkit::ConnectionInfo* from_worker = nullptr;
    std::thread worker([&] {
      nbdkit::server::ConnectionScope worker_scope(shared);
      from_worker = nbdkit::current_connection();
    });
    worker.join();
    EXPECT_EQ(from_worker, info);
  }
  EXPECT_EQ(nbdkit::current_connection(), nullptr);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(InterruptibleSleep, FullSleepReturnsZero) { EXPECT_EQ(nbdkit::nanosleep(1'000'000), 0); }

TEST(InterruptibleSleep, ClientHangUpEndsItEarly) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  nbdkit::server::ConnectionScope scope(fds[0]);
  // Data waiting from the client does not interrupt the sleep.
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_EQ(nbdkit::nanosleep(1'000'000), 0);
  ::close(fds[1]);
  EXPECT_EQ(nbdkit::nanosleep(3600ull * 1'000'000'000), ESHUTDOWN);
  ::close(fds[0]);
}

TEST(InterruptibleSleep, ShutdownEndsItEarly) {
  // In a child process: the shutdown request cannot be undone.
  EXPECT_EXIT(
      {
        nbdkit::server::install_signal_handlers();
        nbdkit::shutdown(0);
        std::exit(nbdkit::nanosleep(3600ull * 1'000'000'000) == ESHUTDOWN ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
