// The allow/deny rules of the ip filter and their matching against a
// client, kept apart from the filter so that they can be read alone.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nbdkit/services.hpp>

namespace nbdkit::filters::ip {

struct Rule {
  enum class Kind {
    any, any_ipv4, any_ipv6, any_unix, any_vsock,
    ipv4, ipv6, pid, uid, gid, vsock_cid, vsock_port, security,
  };
  Kind kind;
  // ipv4/ipv6: the address (IPv4 in the first 4 bytes) and prefix length.
  std::array<uint8_t, 16> address{};
  unsigned prefix_bits = 0;
  uint64_t number = 0;  // pid, uid, gid, vsock cid or port
  std::string label;    // security
};

// One comma-separated list of rules; throws nbdkit::Error naming `key`.
std::vector<Rule> parse_rules(std::string_view key, std::string_view list);

bool matches(const Rule& rule, const ConnectionInfo& client);

}  // namespace nbdkit::filters::ip
