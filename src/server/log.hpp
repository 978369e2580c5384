// Where the server's and plugins' messages go (-v, --log, -D).
#pragma once

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

}  // namespace nbdkit::server
