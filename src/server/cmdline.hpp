// nbdkit's command line: `nbdkit [OPTIONS] PLUGIN [[KEY=]VALUE ...]`.
#pragma once

#include <stdexcept>
#include <string>

#include "options.hpp"

namespace nbdkit::server {

// A bad command line.  main() prints "nbdkit: MESSAGE" and exits 1.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses argv (no plugin loading, and no I/O except for the completion
// helpers --short-options/--long-options, which print and exit 0).  Checks option values and
// illegal combinations; throws UsageError.  Applies the implications that
// do not need the environment (--run implies -f and, without -p, `-U -`;
// -s and --exit-with-parent imply -f; ...).
Options parse_command_line(int argc, char* const argv[]);

// Gives bare values the plugin's magic key.  Without one, a bare value
// right after the plugin name becomes `script=VALUE` (as nbdkit does for
// `#!` scripts) and a bare value anywhere else is an error (UsageError).
void apply_magic_key(Options& options, const char* magic_key);

// The synopsis printed by --help (without any plugin's own help).
std::string usage_text();

}  // namespace nbdkit::server
