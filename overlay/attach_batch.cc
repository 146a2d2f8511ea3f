#include "overlay/attach_batch.h"

#include <cstdio>

#include "overlay/addr.h"
#include "overlay/plumbing.h"

namespace rv::overlay {

std::string PeerName(uint32_t addr) {
  char peer[16];
  snprintf(peer, sizeof(peer), "rvp%08x", addr);
  return peer;
}

std::string GatewayChainOf(const std::string& veth) { return "rvgw-" + veth; }

std::vector<std::vector<std::string>> GatewayRules(const std::vector<GatewayPort>& gateway_ports) {
  const std::string gw = std::string(kGateway) + "/32";
  std::vector<std::vector<std::string>> rules = {
      {"!", "-d", gw, "-j", "DROP"},
      {"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
      {"-p", "icmp", "--icmp-type", "echo-request", "-j", "ACCEPT"},
  };
  for (const auto& p : gateway_ports) rules.push_back({"-p", p.proto, "--dport", std::to_string(p.port), "-j", "ACCEPT"});
  rules.push_back({"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"});
  rules.push_back({"-j", "REJECT", "--reject-with", "icmp-port-unreachable"});
  return rules;
}

AttachBatch PlanAttachBatch(uint32_t env_id, const std::vector<Attachment>& as, int mtu,
                            const std::vector<GatewayPort>& gateway_ports, const std::set<std::string>& existing_links,
                            const std::set<std::string>& jumped) {
  AttachBatch b;
  const std::string t = std::to_string(kTableBase + env_id), m = std::to_string(mtu), gw = kGateway;
  std::string chains, rules, jumps;
  for (const auto& a : as) {
    const std::string addr = FormatAddr(a.addr);
    if (!a.netns.empty()) {
      for (const std::string& old : {a.veth, PeerName(a.addr)}) {
        if (existing_links.count(old)) b.host_prepare += "link del " + old + "\n";  // debris of an earlier run
      }
      b.host_prepare += "link add " + a.veth + " mtu " + m + " type veth peer name " + a.ifname + " mtu " + m +
                        " netns " + a.netns + "\n";
      b.inside[a.netns] = "link set lo up\nlink set " + a.ifname + " up\naddr add " + addr + "/32 dev " + a.ifname +
                          "\nroute add " + gw + " dev " + a.ifname + " scope link\nroute replace default via " + gw +
                          " dev " + a.ifname + "\n";
    }
    b.host_rule_cleanup += "rule del iif " + a.veth + " lookup " + t + " pref 100\n";
    b.host_routes += "link set " + a.veth + " mtu " + m + " up\n" + "addr replace " + gw + "/32 dev " + a.veth +
                     " scope link\n" + "route replace " + addr + "/32 dev " + a.veth + "\n" + "route replace " + addr +
                     "/32 dev " + a.veth + " table " + t + "\n" + "rule add iif " + a.veth + " lookup " + t +
                     " pref 100\n";
    const std::string chain = GatewayChainOf(a.veth);
    chains += ":" + chain + " - [0:0]\n";
    for (const auto& r : GatewayRules(gateway_ports)) {
      rules += "-A " + chain;
      for (const auto& w : r) rules += " " + w;
      rules += "\n";
    }
    if (!jumped.count(a.veth)) jumps += "-I INPUT -i " + a.veth + " -j " + chain + "\n";
  }
  if (!as.empty()) b.iptables = "*filter\n" + chains + rules + jumps + "COMMIT\n";
  return b;
}

}  // namespace rv::overlay
