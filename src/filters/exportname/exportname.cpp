// nbdkit --filter=exportname: changes the export list clients see, the
// default export and the export descriptions, and can refuse export
// names not listed (nbdkit-exportname-filter(1)).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "../common/choice.hpp"

namespace {

enum class ListMode { keep, error, empty, defaultonly, explicit_ };
enum class DescMode { keep, none, fixed, script };

struct Settings {
  std::string default_export;
  ListMode list = ListMode::keep;
  bool strict = false;
  std::vector<std::string> names;  // exportname=
  DescMode desc = DescMode::keep;
  std::string desc_text;  // the fixed string or the script
};

// The output of `script` run by the shell with $name set, without the
// final newline; empty when it fails.
std::string run_description_script(const std::string& script, const std::string& name) {
  // The variable is set by the shell itself: setenv() is not safe while
  // other threads run.  Single quotes keep the name literal.
  std::string command = "name='";
  for (const char c : name) command += c == '\'' ? std::string("'\\''") : std::string(1, c);
  command += "'; export name\n" + script;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {};
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    nbdkit::error("exportdesc script failed for export '%s'", name.c_str());
    return {};
  }
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

// The description to send for `name`, given the one from below.
std::string describe(const Settings& s, const std::string& name, std::string below) {
  switch (s.desc) {
    case DescMode::keep: return below;
    case DescMode::none: return {};
    case DescMode::fixed: return s.desc_text;
    case DescMode::script: break;
  }
  return run_description_script(s.desc_text, name);
}

class ExportNameContext final : public nbdkit::FilterContext {
 public:
  ExportNameContext(std::unique_ptr<nbdkit::Context> next, const Settings& settings,
                    std::string name)
      : FilterContext(std::move(next)), settings_(settings), name_(std::move(name)) {}
  std::string export_description() override {
    return describe(settings_, name_, next().export_description());
  }

 private:
  const Settings& settings_;
  const std::string name_;
};

class ExportNameFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "default-export=<NAME>    Canonical name for the \"\" default export.\n"
           "exportname-list=<MODE>   Which exports to advertise: keep (default), error,\n"
           "                         empty, defaultonly, explicit.\n"
           "exportname-strict=<BOOL> Limit clients to explicit export names.\n"
           "exportname=<NAME>        Add an explicit export name, may be repeated.\n"
           "exportdesc=<MODE>        How to describe exports: keep (default), none,\n"
           "                         fixed:STRING, script:SCRIPT.";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key == "default-export" || key == "default_export") {
      s_.default_export = value;
    } else if (key == "exportname-list") {
      s_.list = nbdkit::filters::parse_choice<ListMode>(
          key, value,
          {{"keep", ListMode::keep}, {"error", ListMode::error}, {"empty", ListMode::empty},
           {"defaultonly", ListMode::defaultonly}, {"explicit", ListMode::explicit_}});
    } else if (key == "exportname-strict") {
      s_.strict = nbdkit::parse_bool(key, value);
    } else if (key == "exportname") {
      s_.names.emplace_back(value);
    } else if (key == "exportdesc") {
      parse_desc(value);
    } else {
      return false;
    }
    return true;
  }

  std::vector<nbdkit::ExportInfo> list_exports(const nbdkit::ListExportsNext& next,
                                               bool readonly, bool is_tls) override {
    std::vector<nbdkit::ExportInfo> exports;
    switch (s_.list) {
      case ListMode::keep: exports = next(readonly, is_tls); break;
      case ListMode::error: throw nbdkit::Error("export list restricted by policy", ENOTSUP);
      case ListMode::empty: break;
      case ListMode::defaultonly:
        exports.push_back({default_export(nullptr, readonly, is_tls), {}});
        break;
      case ListMode::explicit_:
        for (const auto& name : s_.names) exports.push_back({name, {}});
        break;
    }
    for (auto& e : exports) e.description = describe(s_, e.name, e.description);
    return exports;
  }

  // `next` may be null (from list_exports above, which has none of its own).
  std::string default_export(const nbdkit::DefaultExportNext& next, bool readonly,
                             bool is_tls) override {
    if (!s_.default_export.empty() || !next) return s_.default_export;
    return next(readonly, is_tls);
  }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    // Strictness applies to the name the client asked for, even "" when
    // default-export= names a listed export (as nbdkit).
    if (s_.strict && std::find(s_.names.begin(), s_.names.end(), exportname) == s_.names.end())
      throw nbdkit::Error("export '" + std::string(exportname) + "' rejected by exportname filter",
                          ENOENT);
    std::string name(exportname.empty() ? std::string_view(s_.default_export) : exportname);
    return std::make_unique<ExportNameContext>(next(readonly, name), s_, name);
  }

 private:
  void parse_desc(std::string_view value) {
    if (value == "keep") {
      s_.desc = DescMode::keep;
    } else if (value == "none") {
      s_.desc = DescMode::none;
    } else if (value.substr(0, 6) == "fixed:") {
      s_.desc = DescMode::fixed;
      s_.desc_text = value.substr(6);
    } else if (value.substr(0, 7) == "script:") {
      s_.desc = DescMode::script;
      s_.desc_text = value.substr(7);
    } else {
      throw nbdkit::Error("unrecognized exportdesc mode: " + std::string(value));
    }
  }

  Settings s_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("exportname", ExportNameFilter);
