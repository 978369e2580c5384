// nbdkit --filter=ip: allows or denies clients by address, CIDR range,
// socket family, Unix peer credentials or security label, before the
// handshake (nbdkit-ip-filter(1)).  The allow list is checked first,
// then the deny list; a client matching neither is allowed.
#include <algorithm>
#include <string>
#include <vector>

#include <nbdkit/plugin.hpp>

#include "ip_rules.hpp"

namespace {

namespace ip = nbdkit::filters::ip;

bool any_matches(const std::vector<ip::Rule>& rules, const nbdkit::ConnectionInfo& client) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const ip::Rule& rule) { return ip::matches(rule, client); });
}

class IpFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "allow=addr[,addr...]         Set allow list.\n"
           "deny=addr[,addr...]          Set deny list.";
  }

  bool config(std::string_view key, std::string_view value) override {
    std::vector<ip::Rule>* list = key == "allow" ? &allow_ : key == "deny" ? &deny_ : nullptr;
    if (!list) return false;
    for (ip::Rule& rule : ip::parse_rules(key, value)) list->push_back(std::move(rule));
    return true;
  }

  void preconnect(bool) override {
    const nbdkit::ConnectionInfo* client = nbdkit::current_connection();
    if (!client || (allow_.empty() && deny_.empty())) return;
    if (any_matches(allow_, *client)) return;
    if (any_matches(deny_, *client))
      throw nbdkit::Error("client not permitted to connect because of ip filter rules", EPERM);
  }

 private:
  std::vector<ip::Rule> allow_, deny_;
};

}  // namespace

NBDKIT_REGISTER_FILTER("ip", IpFilter);
