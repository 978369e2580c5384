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

// Sets the name used as the prefix of messages from the current thread
// (e.g. the plugin or filter being called); empty for the server itself.
void set_thread_log_name(const char* name);

// Every `-D LAYER.FLAG=N` given for `layer`, as (FLAG, N).
std::vector<std::pair<std::string, int>> debug_flags_of(std::string_view layer);

// Whether stdin and stdout are free for a plugin to use (not with -s,
// whose client talks over them).  Set by main() before plugins load.
void set_stdio_in_use(bool in_use);
bool stdio_in_use();

}  // namespace nbdkit::server
