// Captive mode (--run): the server runs for as long as a shell command does.
#pragma once

#include <string>

#include "lifecycle.hpp"
#include "listen.hpp"
#include "options.hpp"
#include "tls.hpp"

namespace nbdkit::server {

// The shell assignments prepended to the --run command: uri, nbd, port,
// unixsocket, exportname, tls (only when TLS is on), tls_certificates and
// tls_psk.  Plain assignments, not exported, as in nbdkit.
std::string captive_shell_variables(const Options& options, const std::string& uri,
                                    const std::string& unix_socket, TlsPolicy tls);

// Forks.  The child returns: it is the server, and reports on `ready` once
// it accepts connections.  The parent never returns: it waits for that
// report (exiting 1 if the server fails to start instead), runs the command
// with /bin/sh on the original stdin and stdout, stops the server when the
// command ends, and exits with nbdkit's captive status:
//  - the command's exit status N, or 128+S if it was killed by signal S;
//  - the server's exit status if the server exited first and the command
//    exited 0;
//  - 128+S if the server was killed by signal S, whatever the command did.
void run_captive(const Options& options, const std::string& shell_variables, Listener& listener,
                 ReadinessPipe& ready);

}  // namespace nbdkit::server
