// Where the server's and plugins' messages go (-v, --log, -D).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "options.hpp"

namespace nbdkit::server {

// Applies -v, --log and -D from the command line.  Until called, errors go
// to stderr and debug messages are off.
void configure_logging(const Options& options);

// Called after daemonizing: with --log=default errors move to syslog.
void logging_after_fork(bool daemonized);

bool verbose();

// A warning (not only with -v), to the --log target like errors.
void warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The value of -D NAME.FLAG (key "NAME.FLAG"), or `fallback` when not given.
int debug_flag_or(std::string_view key, int fallback);

// Warns about each -D flag that no layer of the stack (named in
// `layer_names`) nor the server declares with NBDKIT_DEBUG_FLAG.
void warn_unused_debug_flags(const std::vector<std::string>& layer_names);

// Sets the name used as the prefix of messages from the current thread
// (e.g. the plugin or filter being called); empty for the server itself.
void set_thread_log_name(const char* name);
const char* thread_log_name();

// Every `-D LAYER.FLAG=N` given for `layer`, as (FLAG, N).
std::vector<std::pair<std::string, int>> debug_flags_of(std::string_view layer);

// Whether stdin and stdout are free for a plugin to use (not with -s,
// whose client talks over them).  Set by main() before plugins load.
void set_stdio_in_use(bool in_use);
bool stdio_in_use();

}  // namespace nbdkit::server
