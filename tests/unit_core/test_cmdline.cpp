#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cmdline.hpp"

namespace {

using nbdkit::server::AddressFamily;
using nbdkit::server::LogTarget;
using nbdkit::server::Options;
using nbdkit::server::TlsPolicy;
using nbdkit::server::UsageError;
using nbdkit::server::apply_magic_key;
using nbdkit::server::parse_command_line;

// getopt permutes argv, so each parse gets its own mutable copy.
Options parse(std::vector<std::string> words) {
  words.insert(words.begin(), "nbdkit");
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(words.size()), argv.data());
}

std::string usage_error(std::vector<std::string> words) {
  try {
    parse(std::move(words));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string cwd() {
  char buffer[4096];
  return getcwd(buffer, sizeof buffer) ? buffer : "";
}

TEST(CommandLine, PluginAndArguments) {
  const Options o = parse({"memory", "1G", "allocator=sparse"});
  EXPECT_EQ(o.plugin_name, "memory");
  ASSERT_EQ(o.plugin_args.size(), 2u);
  EXPECT_EQ(o.plugin_args[0], (std::pair<std::string, std::string>{"", "1G"}));
  EXPECT_EQ(o.plugin_args[1], (std::pair<std::string, std::string>{"allocator", "sparse"}));
  EXPECT_FALSE(o.foreground);
  EXPECT_EQ(o.threads, 16u);
  EXPECT_EQ(o.log, LogTarget::default_);
  EXPECT_EQ(o.tls.policy, TlsPolicy::off);
  EXPECT_EQ(o.mask_handshake, 3);
}

TEST(CommandLine, KeySyntaxRule) {
  const Options o = parse({"file", "a=b", "A1._-z=x=y", "1x=3", " x=1", "=v", "./dir/f=1",
                           "x y=1", "k=", "a:b=c"});
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "b"}, {"A1._-z", "x=y"}, {"", "1x=3"}, {"", " x=1"}, {"", "=v"},
      {"", "./dir/f=1"}, {"", "x y=1"}, {"k", ""}, {"", "a:b=c"}};
  EXPECT_EQ(o.plugin_args, expected);
}

TEST(CommandLine, OptionsMayFollowThePluginAndDoubleDashEndsThem) {
  const Options o = parse({"memory", "1M", "-r", "--run", "true", "--", "-x", "--y"});
  EXPECT_TRUE(o.readonly);
  EXPECT_EQ(o.run, "true");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"", "1M"}, {"", "-x"}, {"", "--y"}};
  EXPECT_EQ(o.plugin_args, expected);
}

TEST(CommandLine, FlagOptionsAndAliases) {
  struct Case {
    std::vector<std::string> spellings;
    bool Options::*field;
  };
  const std::vector<Case> cases = {
      {{"-f", "--foreground", "--no-fork"}, &Options::foreground},
      {{"-r", "--readonly", "--read-only"}, &Options::readonly},
      {{"-o", "--oldstyle", "--old-style"}, &Options::oldstyle},
      {{"-s", "--single", "--stdin"}, &Options::single},
      {{"-v", "--verbose"}, &Options::verbose},
      {{"--print-uri"}, &Options::print_uri},
      {{"--exit-with-parent"}, &Options::exit_with_parent},
      {{"--keepalive", "--keep-alive"}, &Options::keepalive},
      {{"--no-sr", "--no-structured-replies"}, &Options::no_structured_replies},
      {{"--no-mc", "--no-meta-contexts"}, &Options::no_meta_contexts},
      {{"--swap"}, &Options::swap},
      {{"--vsock"}, &Options::vsock},
      {{"--dump-config"}, &Options::dump_config},
      {{"--dump-plugin"}, &Options::dump_plugin},
      {{"--help"}, &Options::show_help},
      {{"-V", "--version"}, &Options::show_version},
  };
  const Options defaults = parse({"memory"});
  for (const auto& c : cases) {
    EXPECT_FALSE(defaults.*c.field) << c.spellings[0];
    for (const auto& spelling : c.spellings) EXPECT_TRUE(parse({spelling, "memory"}).*c.field) << spelling;
  }
}

TEST(CommandLine, NewstyleIsAcceptedAndChangesNothing) {
  for (const char* spelling : {"-n", "--newstyle", "--new-style"}) {
    const Options o = parse({spelling, "memory"});
    EXPECT_FALSE(o.oldstyle);
  }
}

TEST(CommandLine, ValueOptionsAndAliases) {
  for (const char* e : {"-e", "--export", "--export-name", "--exportname"})
    EXPECT_EQ(parse({e, "foo", "memory"}).exportname, "foo") << e;
  EXPECT_EQ(parse({"--exportname=bar", "memory"}).exportname, "bar");
  EXPECT_EQ(parse({"-efoo", "memory"}).exportname, "foo");

  for (const char* g : {"-g", "--group"}) EXPECT_EQ(parse({g, "disk", "memory"}).group, "disk");
  for (const char* u : {"-u", "--user"}) EXPECT_EQ(parse({u, "nobody", "memory"}).user, "nobody");
  for (const char* i : {"-i", "--ipaddr", "--ip-addr"})
    EXPECT_EQ(parse({i, "127.0.0.1", "memory"}).ipaddr, "127.0.0.1");
  for (const char* p : {"-p", "--port"}) EXPECT_EQ(parse({p, "10999", "memory"}).port, "10999");
  EXPECT_EQ(parse({"-p", "nbd", "memory"}).port, "nbd");
  EXPECT_EQ(parse({"--selinux-label=system_u:object_r:svirt_t:s0", "memory"}).selinux_label,
            "system_u:object_r:svirt_t:s0");
  EXPECT_EQ(parse({"--tls-priority=NORMAL", "memory"}).tls.priority, "NORMAL");
  EXPECT_EQ(parse({"--tls-priority=NORMAL", "memory"}).tls_priority, "NORMAL");
  EXPECT_NO_THROW(parse({"--name=in", "memory"}));
}

TEST(CommandLine, AddressFamilyLastOneWins) {
  EXPECT_EQ(parse({"memory"}).family, AddressFamily::any);
  EXPECT_EQ(parse({"-4", "memory"}).family, AddressFamily::ipv4);
  EXPECT_EQ(parse({"--ipv6-only", "memory"}).family, AddressFamily::ipv6);
  EXPECT_EQ(parse({"-6", "--ipv4-only", "memory"}).family, AddressFamily::ipv4);
}

TEST(CommandLine, PathsAreMadeAbsolute) {
  for (const char* p : {"-P", "--pidfile", "--pid-file"})
    EXPECT_EQ(parse({p, "x.pid", "memory"}).pidfile, cwd() + "/x.pid") << p;
  EXPECT_EQ(parse({"-P", "/run/x.pid", "memory"}).pidfile, "/run/x.pid");
  for (const char* u : {"-U", "--unix"}) EXPECT_EQ(parse({u, "sock", "memory"}).unix_socket, cwd() + "/sock");
  EXPECT_EQ(parse({"-U", "-", "memory"}).unix_socket, "-");
  EXPECT_EQ(parse({"--tls-certificates=certs", "memory"}).tls.certificates_dir, cwd() + "/certs");
  EXPECT_EQ(parse({"--tls-psk=/etc/keys.psk", "memory"}).tls.psk_file, "/etc/keys.psk");
  EXPECT_EQ(parse({"--log=./log.txt", "memory"}).log_file, cwd() + "/./log.txt");
  EXPECT_NE(usage_error({"-U", "", "memory"}), "(no error)");
  EXPECT_NE(usage_error({"-P", "", "memory"}), "(no error)");
}

TEST(CommandLine, Filters) {
  const Options o = parse({"--filter=delay", "--filter", "cache", "memory", "--filter=log"});
  EXPECT_EQ(o.filters, (std::vector<std::string>{"delay", "cache", "log"}));
  EXPECT_NE(usage_error({"--filter=", "memory"}), "(no error)");
}

TEST(CommandLine, Threads) {
  for (const char* t : {"-t", "--threads"}) EXPECT_EQ(parse({t, "4", "memory"}).threads, 4u);
  EXPECT_EQ(parse({"-t", "0", "memory"}).threads, 16u);
  EXPECT_EQ(parse({"-t", "0x10", "memory"}).threads, 16u);
  EXPECT_EQ(parse({"-t", "1", "memory"}).threads, 1u);
  for (const char* bad : {"", "-1", "x", "4x", "99999999999"})
    EXPECT_NE(usage_error({"-t", bad, "memory"}), "(no error)") << bad;
}

TEST(CommandLine, Timeout) {
  EXPECT_EQ(parse({"memory"}).timeout_ns, 60'000'000'000u);  // our default
  EXPECT_EQ(parse({"--timeout=0", "memory"}).timeout_ns, 0u);  // no limit
  EXPECT_EQ(parse({"--timeout=1.5", "memory"}).timeout_ns, 1'500'000'000u);
  EXPECT_EQ(parse({"--timeout", "200ms", "memory"}).timeout_ns, 200'000'000u);
  EXPECT_NE(usage_error({"--timeout=abc", "memory"}), "(no error)");
  EXPECT_NE(usage_error({"--timeout=-1", "memory"}), "(no error)");
}

TEST(CommandLine, MaskHandshake) {
  EXPECT_EQ(parse({"--mask-handshake=0", "memory"}).mask_handshake, 0);
  EXPECT_EQ(parse({"--mask-handshake=1", "memory"}).mask_handshake, 1);
  EXPECT_EQ(parse({"--mask-handshake=9", "memory"}).mask_handshake, 1);
  EXPECT_NE(usage_error({"--mask-handshake=x", "memory"}), "(no error)");
}

TEST(CommandLine, LogTargets) {
  EXPECT_EQ(parse({"--log=default", "memory"}).log, LogTarget::default_);
  EXPECT_EQ(parse({"--log=stderr", "memory"}).log, LogTarget::stderr_);
  EXPECT_EQ(parse({"--log=syslog", "memory"}).log, LogTarget::syslog);
  EXPECT_EQ(parse({"--log=null", "memory"}).log, LogTarget::null);
  const Options file = parse({"--log=/tmp/nbdkit.log", "memory"});
  EXPECT_EQ(file.log, LogTarget::file);
  EXPECT_EQ(file.log_file, "/tmp/nbdkit.log");
  EXPECT_NE(usage_error({"--log=foo", "memory"}).find("--log"), std::string::npos);
}

TEST(CommandLine, TlsSpellings) {
  for (const char* on : {"on", "yes", "1", "true", "TRUE", "y", "t"})
    EXPECT_EQ(parse({std::string("--tls=") + on, "memory"}).tls.policy, TlsPolicy::on) << on;
  for (const char* off : {"off", "no", "0", "false", "n", "f", "OFF"})
    EXPECT_EQ(parse({std::string("--tls=") + off, "memory"}).tls.policy, TlsPolicy::off) << off;
  for (const char* require : {"require", "required", "force"})
    EXPECT_EQ(parse({"--tls", require, "memory"}).tls.policy, TlsPolicy::require) << require;
  EXPECT_NE(usage_error({"--tls=maybe", "memory"}).find("--tls"), std::string::npos);
  EXPECT_TRUE(parse({"--tls-verify-peer", "memory"}).tls.verify_peer);
}

TEST(CommandLine, TlsPolicySetOnlyByTls) {
  // Without --tls the TLS layer decides (offer TLS when credentials load).
  EXPECT_FALSE(parse({"--tls-psk=/k.psk", "memory"}).tls.policy_set);
  EXPECT_TRUE(parse({"--tls=off", "memory"}).tls.policy_set);
  EXPECT_TRUE(parse({"--tls=on", "memory"}).tls.policy_set);
}

TEST(CommandLine, DebugFlags) {
  const Options o = parse({"-D", "memory.dir=1", "--debug", "nbdkit.backend.datapath=0",
                           "-Dsh.x=0x10", "-D", "memory.dir=-2", "memory"});
  EXPECT_EQ(o.debug_flags.at("memory.dir"), -2);  // last one wins
  EXPECT_EQ(o.debug_flags.at("nbdkit.backend.datapath"), 0);
  EXPECT_EQ(o.debug_flags.at("sh.x"), 16);
  for (const char* bad : {"foo", "foo=1", ".x=1", "foo.=1", "foo.bar", "foo.bar=", "foo.bar=x",
                          "foo.bar=99999999999"})
    EXPECT_NE(usage_error({"-D", bad, "memory"}), "(no error)") << bad;
}

TEST(CommandLine, Implications) {
  const Options run = parse({"--run", "true", "memory"});
  EXPECT_TRUE(run.foreground);
  EXPECT_EQ(run.unix_socket, "-");
  const Options run_tcp = parse({"--run", "true", "-p", "10999", "memory"});
  EXPECT_FALSE(run_tcp.unix_socket.has_value());
  const Options run_vsock = parse({"--run", "true", "--vsock", "memory"});
  EXPECT_FALSE(run_vsock.unix_socket.has_value());
  const Options run_unix = parse({"--run", "true", "-U", "/tmp/s", "memory"});
  EXPECT_EQ(run_unix.unix_socket, "/tmp/s");
  EXPECT_TRUE(parse({"-s", "memory"}).foreground);
  EXPECT_TRUE(parse({"--exit-with-parent", "memory"}).foreground);
  EXPECT_FALSE(parse({"-U", "-", "memory"}).foreground);
}

TEST(CommandLine, IllegalCombinations) {
  const std::vector<std::vector<std::string>> bad = {
      {"-p", "1", "-U", "/tmp/s"}, {"-p", "1", "-s"},      {"-U", "-", "-s"},
      {"-s", "--run", "true"},     {"-s", "--dump-plugin"}, {"--vsock", "-U", "-"},
      {"--vsock", "-s"},           {"-o", "--tls=require"},
  };
  for (auto words : bad) {
    words.push_back("memory");
    const std::string message = usage_error(words);
    EXPECT_NE(message.find("cannot be used"), std::string::npos) << words[0] << " " << words[1]
                                                                 << ": " << message;
  }
  EXPECT_NO_THROW(parse({"-o", "--tls=on", "memory"}));
  EXPECT_NO_THROW(parse({"--vsock", "-p", "1", "memory"}));
}

TEST(CommandLine, MissingPlugin) {
  EXPECT_NE(usage_error({}).find("no plugin"), std::string::npos);
  EXPECT_NE(usage_error({"-U", "-", "--run", "true"}).find("no plugin"), std::string::npos);
  EXPECT_NE(usage_error({"--dump-plugin"}).find("no plugin"), std::string::npos);
  EXPECT_TRUE(parse({"--help"}).show_help);
  EXPECT_TRUE(parse({"-V"}).show_version);
  EXPECT_TRUE(parse({"--dump-config"}).dump_config);
  EXPECT_EQ(parse({"--help"}).plugin_name, "");
  EXPECT_EQ(parse({"--help", "memory"}).plugin_name, "memory");
}

TEST(CommandLine, UnknownOptionsAndMissingArguments) {
  EXPECT_NE(usage_error({"--no-such-option", "memory"}).find("--no-such-option"), std::string::npos);
  EXPECT_NE(usage_error({"-X", "memory"}).find("-X"), std::string::npos);
  EXPECT_NE(usage_error({"memory", "-p"}).find("requires an argument"), std::string::npos);
  EXPECT_NE(usage_error({"memory", "--run"}).find("requires an argument"), std::string::npos);
  EXPECT_NE(usage_error({"--verbose=1", "memory"}), "(no error)");
}

TEST(CommandLine, RepeatedParsesAreIndependent) {
  EXPECT_TRUE(parse({"-r", "memory"}).readonly);
  EXPECT_FALSE(parse({"memory"}).readonly);
}

TEST(MagicKey, BareValuesGetTheMagicKey) {
  Options o = parse({"memory", "1G", "allocator=malloc", "2G"});
  apply_magic_key(o, "size");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"size", "1G"}, {"allocator", "malloc"}, {"size", "2G"}};
  EXPECT_EQ(o.plugin_args, expected);
}

TEST(MagicKey, WithoutOneOnlyTheFirstWordMayBeAScript) {
  Options script = parse({"sh", "./disk.sh", "a=b"});
  apply_magic_key(script, nullptr);
  EXPECT_EQ(script.plugin_args[0], (std::pair<std::string, std::string>{"script", "./disk.sh"}));

  Options late = parse({"eval", "a=b", "foo"});
  try {
    apply_magic_key(late, nullptr);
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("foo"), std::string::npos);
  }

  Options keyed = parse({"eval", "a=b"});
  EXPECT_NO_THROW(apply_magic_key(keyed, nullptr));
}

TEST(Usage, MentionsEveryOptionSpelling) {
  const std::string text = nbdkit::server::usage_text();
  for (const char* spelling :
       {"--ipv4-only", "--ipv6-only", "--debug", "--exit-with-parent", "--exportname", "--filter", "--newstyle",
        "--foreground", "--group", "--ipaddr", "--keepalive", "--log", "--mask-handshake",
        "--name", "--no-mc", "--no-sr", "--oldstyle", "--pidfile", "--port",
        "--print-uri", "--readonly", "--run", "--selinux-label", "--single", "--swap",
        "--threads", "--timeout", "--tls", "--tls-certificates", "--tls-priority", "--tls-psk",
        "--tls-verify-peer", "--unix", "--user", "--verbose", "--vsock", "--dump-config",
        "--dump-plugin", "--help", "--version"})
    EXPECT_NE(text.find(spelling), std::string::npos) << spelling;
}

}  // namespace
