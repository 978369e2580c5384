// The NBD URI and shell quoting behind $uri, $nbd and --print-uri.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "captive.hpp"
#include "uri.hpp"

using nbdkit::server::build_nbd_uri;
using nbdkit::server::captive_shell_variables;
using nbdkit::server::Options;
using nbdkit::server::shell_quote;
using nbdkit::server::TlsPolicy;
using nbdkit::server::uri_encode;

TEST(Uri, UnixSocketWithoutExportHasNoPath) {
  Options options;
  EXPECT_EQ(build_nbd_uri(options, "/tmp/d/socket", TlsPolicy::off), "nbd+unix://?socket=/tmp/d/socket");
}

TEST(Uri, ExportNameAndSocketArePercentEncoded) {
  Options options;
  options.exportname = "a/b:c?d&\xc3\xa9";
  EXPECT_EQ(build_nbd_uri(options, "/tmp/sp ace/s k", TlsPolicy::off),
            "nbd+unix:///a/b%3Ac%3Fd%26%C3%A9?socket=/tmp/sp%20ace/s%20k");
}

TEST(Uri, TcpNamesThePortOnlyWhenGiven) {
  Options options;
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::off), "nbd://localhost");
  options.port.emplace("10999");
  options.exportname = "foo";
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::off), "nbd://localhost:10999/foo");
}

TEST(Uri, RequiredTlsChangesSchemeAndAddsCredentials) {
  Options options;
  options.tls.psk_file = "/etc/keys.psk";
  EXPECT_EQ(build_nbd_uri(options, "/s", TlsPolicy::require),
            "nbds+unix://?socket=/s&tls-psk-file=/etc/keys.psk");
  EXPECT_EQ(build_nbd_uri(options, "/s", TlsPolicy::on), "nbd+unix://?socket=/s");
  EXPECT_EQ(build_nbd_uri(options, "/s", TlsPolicy::require, "alice"),
            "nbds+unix://alice@/?socket=/s&tls-psk-file=/etc/keys.psk");
  options.port.emplace("2");
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::require, "alice"),
            "nbds://alice@localhost:2?tls-psk-file=/etc/keys.psk");
  options.tls.psk_file.clear();
  options.tls.certificates_dir = "/pki";
  options.port.emplace("1");
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::require),
            "nbds://localhost:1?tls-certificates=/pki");
}

TEST(Uri, NoUriForStdinOrSocketActivation) {
  Options options;
  options.single = true;
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::off), "");
  options.single = false;
  options.socket_activation = true;
  EXPECT_EQ(build_nbd_uri(options, "", TlsPolicy::off), "");
}

TEST(Uri, EncodeKeepsUnreservedAndSlash) {
  EXPECT_EQ(uri_encode("AZaz09-._~/"), "AZaz09-._~/");
  EXPECT_EQ(uri_encode(" %+"), "%20%25%2B");
}

// Runs `sh -c SCRIPT` and returns its stdout.
static std::string shell_output(const std::string& script) {
  const std::string command = "/bin/sh -c " + shell_quote(script);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "<popen failed>";
  std::string out;
  char buffer[256];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

TEST(ShellQuote, RoundTripsThroughTheShell) {
  for (const std::string text : {"", "plain", "it's", "$HOME `x` \"q\" \\ \n*?[a]", "''"})
    EXPECT_EQ(shell_output("printf %s " + shell_quote(text)), text);
}

TEST(CaptiveVariables, AreSetAndTlsOnlyWhenOn) {
  Options options;
  options.exportname = "e x";
  const std::string vars = captive_shell_variables(options, "nbd+unix://?socket=/s", "/s",
                                                   TlsPolicy::off);
  EXPECT_EQ(shell_output(vars + "printf '%s|%s|%s|%s|%s|%s' \"$uri\" \"$nbd\" \"$port\" "
                                "\"$unixsocket\" \"$exportname\" \"${tls-unset}\""),
            "nbd+unix://?socket=/s|nbd+unix://?socket=/s||/s|e x|unset");
  EXPECT_EQ(shell_output(captive_shell_variables(options, "u", "", TlsPolicy::on) + "echo $tls"),
            "1\n");
  EXPECT_EQ(
      shell_output(captive_shell_variables(options, "u", "", TlsPolicy::require) + "echo $tls"),
      "2\n");
}
