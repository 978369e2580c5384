#include "ip_rules.hpp"

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace nbdkit::filters::ip {

namespace {

using Kind = Rule::Kind;

bool keyword(std::string_view item, Kind& kind) {
  struct Word {
    const char* a;
    const char* b;
    Kind kind;
  };
  static constexpr Word words[] = {{"all", "any", Kind::any},
                                   {"allipv4", "anyipv4", Kind::any_ipv4},
                                   {"allipv6", "anyipv6", Kind::any_ipv6},
                                   {"allunix", "anyunix", Kind::any_unix},
                                   {"allvsock", "anyvsock", Kind::any_vsock}};
  for (const Word& word : words)
    if (item == word.a || item == word.b) {
      kind = word.kind;
      return true;
    }
  return false;
}

bool numbered(std::string_view key, std::string_view item, Rule& rule) {
  struct Prefix {
    const char* text;
    Kind kind;
  };
  static constexpr Prefix prefixes[] = {{"pid:", Kind::pid},
                                        {"uid:", Kind::uid},
                                        {"gid:", Kind::gid},
                                        {"vsock-cid:", Kind::vsock_cid},
                                        {"vsock-port:", Kind::vsock_port}};
  for (const Prefix& prefix : prefixes)
    if (item.starts_with(prefix.text)) {
      rule.kind = prefix.kind;
      rule.number = parse_uint32(key, item.substr(std::strlen(prefix.text)));
      return true;
    }
  return false;
}

Rule address_rule(std::string_view key, std::string_view item) {
  Rule rule{};
  const size_t slash = item.find('/');
  const std::string address(item.substr(0, slash));
  const bool v6 = address.find(':') != std::string::npos;
  rule.kind = v6 ? Kind::ipv6 : Kind::ipv4;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), rule.address.data()) != 1)
    throw Error(std::string(key) + ": cannot parse '" + std::string(item) +
                "' as an address, CIDR range or keyword");
  const unsigned width = v6 ? 128 : 32;
  rule.prefix_bits = slash == std::string_view::npos
                         ? width
                         : parse_uint8(key, item.substr(slash + 1));
  if (rule.prefix_bits > width)
    throw Error(std::string(key) + ": prefix length of '" + std::string(item) + "' too long");
  return rule;
}

// The first `bits` bits of a and b are equal.
bool same_prefix(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned bytes = bits / 8, rest = bits % 8;
  if (std::memcmp(a, b, bytes) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

// The client's IPv4 address, including one mapped into IPv6 (::ffff:a.b.c.d).
const uint8_t* ipv4_of(const ConnectionInfo& client) {
  if (client.peer.ss_family == AF_INET)
    return reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in&>(client.peer).sin_addr);
  if (client.peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(client.peer).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6)) return in6.s6_addr + 12;
  }
  return nullptr;
}

const uint8_t* ipv6_of(const ConnectionInfo& client) {
  if (client.peer.ss_family != AF_INET6 || ipv4_of(client)) return nullptr;
  return reinterpret_cast<const sockaddr_in6&>(client.peer).sin6_addr.s6_addr;
}

template <typename Id>
bool same_id(const std::optional<Id>& id, uint64_t number) {
  return id && static_cast<uint64_t>(*id) == number;
}

}  // namespace

std::vector<Rule> parse_rules(std::string_view key, std::string_view list) {
  std::vector<Rule> rules;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) continue;
    Rule rule{};
    if (keyword(item, rule.kind) || numbered(key, item, rule)) {
      rules.push_back(rule);
    } else if (item.starts_with("security:")) {
      rule.kind = Kind::security;
      rule.label = item.substr(9);
      rules.push_back(rule);
    } else {
      rules.push_back(address_rule(key, item));
    }
  }
  return rules;
}

bool matches(const Rule& rule, const ConnectionInfo& client) {
  const auto family = client.peer_length == 0 ? AF_UNSPEC : client.peer.ss_family;
  switch (rule.kind) {
    case Kind::any: return true;
    case Kind::any_ipv4: return ipv4_of(client) != nullptr;
    case Kind::any_ipv6: return ipv6_of(client) != nullptr;
    case Kind::any_unix: return family == AF_UNIX;
    case Kind::any_vsock: return family == AF_VSOCK;
    case Kind::ipv4: {
      const uint8_t* address = ipv4_of(client);
      return address && same_prefix(address, rule.address.data(), rule.prefix_bits);
    }
    case Kind::ipv6: {
      const uint8_t* address = ipv6_of(client);
      return address && same_prefix(address, rule.address.data(), rule.prefix_bits);
    }
    case Kind::pid: return same_id(client.peer_pid, rule.number);
    case Kind::uid: return same_id(client.peer_uid, rule.number);
    case Kind::gid: return same_id(client.peer_gid, rule.number);
    case Kind::vsock_cid:
      return family == AF_VSOCK &&
             reinterpret_cast<const sockaddr_vm&>(client.peer).svm_cid == rule.number;
    case Kind::vsock_port:
      return family == AF_VSOCK &&
             reinterpret_cast<const sockaddr_vm&>(client.peer).svm_port == rule.number;
    case Kind::security:
      return !client.security_context.empty() && client.security_context == rule.label;
  }
  return false;
}

}  // namespace nbdkit::filters::ip
