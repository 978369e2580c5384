#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nbdkit/plugin.hpp>

#include "backend.hpp"

namespace {

using nbdkit::Context;
using nbdkit::FilterContext;
using nbdkit::ThreadModel;
using nbdkit::server::Backend;

// What the test layers were asked to do, in order.
std::vector<std::string>& events() {
  static std::vector<std::string> log;
  return log;
}

class RecordingContext : public Context {
 public:
  explicit RecordingContext(std::string exportname) : exportname_(std::move(exportname)) {}
  uint64_t get_size() override { return exportname_.size(); }
  int pread(void*, uint32_t, uint64_t, uint32_t) override { return 0; }

 private:
  std::string exportname_;
};

class RecordingPlugin : public nbdkit::Plugin {
 public:
  std::string version() const override { return "9.9.9"; }
  std::string config_help() const override { return "colour=<NAME>  Colour of the disk"; }
  ThreadModel thread_model() const override { return ThreadModel::serialize_requests; }
  void dump_plugin(std::ostream& out) const override { out << "unittest_plugin=yes\n"; }
  const char* magic_config_key() const override { return "colour"; }
  bool data_calls_are_nonblocking() const override { return true; }

  void load() override { events().push_back("plugin load"); }
  void config(std::string_view key, std::string_view value) override {
    if (key != "colour") nbdkit::Plugin::config(key, value);
    events().push_back("plugin config " + std::string(key) + "=" + std::string(value));
  }
  void config_complete() override { events().push_back("plugin config_complete"); }
  void get_ready() override { events().push_back("plugin get_ready"); }
  void after_fork() override { events().push_back("plugin after_fork"); }
  void preconnect(bool) override { events().push_back("plugin preconnect"); }
  void cleanup() override { events().push_back("plugin cleanup"); }
  void unload() override { events().push_back("plugin unload"); }

  std::vector<nbdkit::ExportInfo> list_exports(bool, bool) override {
    return {{"a", "first"}, {"b", "second"}};
  }
  std::string default_export(bool, bool) override { return "a"; }

  std::unique_ptr<Context> open(bool readonly, std::string_view exportname, bool is_tls) override {
    events().push_back(std::string("plugin open ") + (readonly ? "ro " : "rw ") +
                       std::string(exportname) + (is_tls ? " tls" : ""));
    return std::make_unique<RecordingContext>(std::string(exportname));
  }
};

// A filter named after its number; it owns keys "fN" and adds N to sizes.
template <int N>
class RecordingFilter : public nbdkit::Filter {
 public:
  std::string name() const { return "filter" + std::to_string(N); }
  std::string config_help() const override { return "f" + std::to_string(N) + "=<X>\n"; }
  ThreadModel thread_model() const override {
    return N == 2 ? ThreadModel::serialize_all_requests : ThreadModel::parallel;
  }
  void dump_plugin(std::ostream& out) const override { out << name() << "_dump=1\n"; }

  void load() override { events().push_back(name() + " load"); }
  bool config(std::string_view key, std::string_view value) override {
    events().push_back(name() + " config " + std::string(key));
    if (key == "f" + std::to_string(N)) {
      if (value == "bad") throw nbdkit::Error("bad value for " + std::string(key));
      return true;
    }
    return false;
  }
  void config_complete() override { events().push_back(name() + " config_complete"); }
  void get_ready() override { events().push_back(name() + " get_ready"); }
  void after_fork() override { events().push_back(name() + " after_fork"); }
  void preconnect(bool) override { events().push_back(name() + " preconnect"); }
  void cleanup() override { events().push_back(name() + " cleanup"); }
  void unload() override { events().push_back(name() + " unload"); }

  std::unique_ptr<Context> open(const nbdkit::OpenNext& next, bool readonly,
                                std::string_view exportname, bool) override {
    events().push_back(name() + " open " + std::string(exportname));
    // Each filter renames the export on the way down, to show the chain.
    class Adding : public FilterContext {
     public:
      using FilterContext::FilterContext;
      uint64_t get_size() override { return next().get_size() + N; }
    };
    return std::make_unique<Adding>(next(readonly, std::string(exportname) + "+" + name()));
  }
};

class NullOpenFilter : public nbdkit::Filter {
 public:
  std::unique_ptr<Context> open(const nbdkit::OpenNext&, bool, std::string_view, bool) override {
    return nullptr;
  }
};

NBDKIT_REGISTER_PLUGIN("unittest-plugin", RecordingPlugin);

}  // namespace

// Each registration macro declares a file-scope static of a fixed name,
// so further ones go in their own namespaces.
namespace filter1 { NBDKIT_REGISTER_FILTER("unittest-filter1", RecordingFilter<1>); }
namespace filter2 { NBDKIT_REGISTER_FILTER("unittest-filter2", RecordingFilter<2>); }
namespace nullopen { NBDKIT_REGISTER_FILTER("unittest-nullopen", NullOpenFilter); }

namespace {

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override { events().clear(); }
};

TEST_F(BackendTest, RegistryListsLayersSorted) {
  const auto plugins = nbdkit::server::registered_plugins();
  EXPECT_NE(std::find(plugins.begin(), plugins.end(), "unittest-plugin"), plugins.end());
  EXPECT_TRUE(std::is_sorted(plugins.begin(), plugins.end()));
  const auto filters = nbdkit::server::registered_filters();
  EXPECT_NE(std::find(filters.begin(), filters.end(), "unittest-filter2"), filters.end());
  EXPECT_TRUE(std::is_sorted(filters.begin(), filters.end()));
}

TEST_F(BackendTest, UnknownLayersNameThemselvesAndTheAlternatives) {
  try {
    Backend backend("no-such-plugin", {});
    FAIL() << "no exception";
  } catch (const nbdkit::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown plugin: no-such-plugin"), std::string::npos) << message;
    EXPECT_NE(message.find("unittest-plugin"), std::string::npos) << message;
  }
  try {
    Backend backend("unittest-plugin", {"unittest-filter1", "no-such-filter"});
    FAIL() << "no exception";
  } catch (const nbdkit::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown filter: no-such-filter"), std::string::npos) << message;
    EXPECT_NE(message.find("unittest-filter1"), std::string::npos) << message;
  }
  EXPECT_TRUE(events().empty());
}

TEST_F(BackendTest, LifecycleRunsInNbdkitOrder) {
  {
    Backend backend("unittest-plugin", {"unittest-filter1", "unittest-filter2"});
    backend.load();
    backend.config("f2", "x");
    backend.config("colour", "red");
    backend.config_complete();
    backend.get_ready();
    backend.after_fork();
    backend.preconnect(false);
    backend.cleanup_and_unload();
    backend.cleanup_and_unload();  // the second call does nothing
  }
  const std::vector<std::string> expected = {
      "plugin load",           "filter2 load",           "filter1 load",
      "filter1 config f2",     "filter2 config f2",      "filter1 config colour",
      "filter2 config colour", "plugin config colour=red",
      "filter1 config_complete", "filter2 config_complete", "plugin config_complete",
      "plugin get_ready",      "filter2 get_ready",      "filter1 get_ready",
      "plugin after_fork",     "filter2 after_fork",     "filter1 after_fork",
      "filter1 preconnect",    "filter2 preconnect",     "plugin preconnect",
      "filter1 cleanup",       "filter2 cleanup",        "plugin cleanup",
      "plugin unload",         "filter2 unload",         "filter1 unload",
  };
  EXPECT_EQ(events(), expected);
}

TEST_F(BackendTest, DestructorUnloadsOnlyWhatWasLoaded) {
  { Backend never_loaded("unittest-plugin", {}); }
  EXPECT_TRUE(events().empty());
  {
    Backend backend("unittest-plugin", {});
    backend.load();
  }
  EXPECT_EQ(events(), (std::vector<std::string>{"plugin load", "plugin cleanup", "plugin unload"}));
}

TEST_F(BackendTest, ConfigErrorsPropagate) {
  Backend backend("unittest-plugin", {"unittest-filter1"});
  EXPECT_THROW(backend.config("f1", "bad"), nbdkit::Error);
  try {
    backend.config("size", "1");
    FAIL() << "no exception";
  } catch (const nbdkit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("size"), std::string::npos);
  }
}

TEST_F(BackendTest, OpenBuildsTheChainOutermostFirst) {
  Backend backend("unittest-plugin", {"unittest-filter1", "unittest-filter2"});
  auto context = backend.open(true, "disk", true);
  const std::vector<std::string> expected = {
      "filter1 open disk", "filter2 open disk+filter1",
      "plugin open ro disk+filter1+filter2 tls"};
  EXPECT_EQ(events(), expected);
  EXPECT_EQ(context->get_size(), std::string("disk+filter1+filter2").size() + 1 + 2);
}

TEST_F(BackendTest, OpenWithoutFiltersReachesThePlugin) {
  Backend backend("unittest-plugin", {});
  auto context = backend.open(false, "", false);
  EXPECT_EQ(events(), (std::vector<std::string>{"plugin open rw "}));
  EXPECT_EQ(context->get_size(), 0u);
}

TEST_F(BackendTest, NullContextIsAnError) {
  Backend backend("unittest-plugin", {"unittest-nullopen"});
  EXPECT_THROW(backend.open(false, "", false), nbdkit::Error);
}

TEST_F(BackendTest, ThreadModelIsTheMinimum) {
  EXPECT_EQ(Backend("unittest-plugin", {}).thread_model(), ThreadModel::serialize_requests);
  EXPECT_EQ(Backend("unittest-plugin", {"unittest-filter1"}).thread_model(),
            ThreadModel::serialize_requests);
  EXPECT_EQ(Backend("unittest-plugin", {"unittest-filter1", "unittest-filter2"}).thread_model(),
            ThreadModel::serialize_all_requests);
}

TEST_F(BackendTest, NonblockingOnlyWhenEveryLayerIs) {
  EXPECT_TRUE(Backend("unittest-plugin", {}).data_calls_are_nonblocking());
  EXPECT_FALSE(Backend("unittest-plugin", {"unittest-filter1"}).data_calls_are_nonblocking());
}

TEST_F(BackendTest, ExportsComeFromThePlugin) {
  Backend backend("unittest-plugin", {"unittest-filter1"});
  const auto exports = backend.list_exports(false, false);
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[1].name, "b");
  EXPECT_EQ(exports[1].description, "second");
  EXPECT_EQ(backend.default_export(false, false), "a");
}

TEST_F(BackendTest, DumpPlugin) {
  Backend backend("unittest-plugin", {"unittest-filter1", "unittest-filter2"});
  std::ostringstream out;
  backend.dump_plugin(out);
  const std::string text = out.str();
  for (const char* line :
       {"\nname=unittest-plugin\n", "\nversion=9.9.9\n", "\napi_version=2\n",
        "\nmax_thread_model=serialize_requests\n", "\nthread_model=serialize_all_requests\n",
        "\nmagic_config_key=colour\n", "\nunittest_plugin=yes\n", "\nfilter1_dump=1\n",
        "\nfilter2_dump=1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in:\n" << text;
  EXPECT_EQ(text.rfind("path=/", 0), 0u) << text;
}

TEST_F(BackendTest, HelpAndVersions) {
  Backend backend("unittest-plugin", {"unittest-filter1"});
  EXPECT_EQ(backend.config_help(),
            "filter: unittest-filter1\nf1=<X>\n\nplugin: unittest-plugin\n"
            "colour=<NAME>  Colour of the disk\n");
  EXPECT_EQ(backend.versions(), std::string("unittest-filter1 ") + NBDKIT_TEST_VERSION +
                                    "\nunittest-plugin 9.9.9\n");
}

}  // namespace
