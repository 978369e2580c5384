// A C plugin (struct nbdkit_plugin from a shared object) behind our C++
// plugin interface.  The loader (loader.cpp) checks the ABI and builds
// one; everything here only translates calls, errors and flags.
#pragma once

#include <atomic>
#include <cstdint>
#include <forward_list>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "c_abi.hpp"

#include <nbdkit/plugin.hpp>

#include "backend.hpp"

namespace nbdkit::cplugin {

class CPlugin final : public server::ExternalPlugin {
 public:
  // `abi` is the plugin's struct, already widened to our layout (missing
  // trailing fields zeroed).
  CPlugin(std::string path, const nbdkit_plugin& abi, uint64_t struct_size);

  const std::string& name() const override { return name_; }
  const std::string& path() const override { return path_; }
  ThreadModel max_thread_model() const override;
  int api_version() const override { return abi_._api_version; }
  uint64_t struct_size() const override { return struct_size_; }
  bool errno_is_preserved() const override { return abi_.errno_is_preserved != 0; }
  void dump_callbacks(std::ostream& out) const override;
  std::string help_heading() const override;

  std::string version() const override;
  std::string config_help() const override;
  ThreadModel thread_model() const override;
  void dump_plugin(std::ostream& out) const override;
  bool data_calls_are_nonblocking() const override;

  void load() override;
  const char* magic_config_key() const override { return abi_.magic_config_key; }
  void config(std::string_view key, std::string_view value) override;
  void config_complete() override;
  void get_ready() override;
  void after_fork() override;
  void preconnect(bool readonly) override;
  void cleanup() override;
  void unload() override;

  std::vector<ExportInfo> list_exports(bool readonly, bool is_tls) override;
  std::string default_export(bool readonly, bool is_tls) override;
  std::unique_ptr<Context> open(bool readonly, std::string_view exportname,
                                bool is_tls) override;

  const nbdkit_plugin& abi() const { return abi_; }
  bool v2() const { return abi_._api_version >= 2; }
  // Held around open and close when the plugin serializes all requests,
  // which the server does only for data calls.
  std::mutex& serialize_mutex() { return serialize_mutex_; }
  bool serializes_all() const;

 private:
  // Runs a callback returning -1 on failure; throws nbdkit::Error with the
  // plugin's message when it fails.
  void call(const char* what, int (*callback)()) const;

  std::string path_;
  std::string name_;
  nbdkit_plugin abi_;
  uint64_t struct_size_;
  // The effective thread model, computed once .thread_model can be asked
  // (after configuration); -1 until then.
  mutable std::atomic<int> thread_model_{-1};
  std::mutex serialize_mutex_;
  std::forward_list<std::string> config_strings_;
};

}  // namespace nbdkit::cplugin
