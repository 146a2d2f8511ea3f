// AttachBatch: the commands that attach many containers of one environment
// at once (plumbing.h has the per-container contract; this is the same end
// state). Pure: it only writes the scripts, plumbing.cc runs them.
//
// One container attached alone costs ~30 processes (ip, nsenter, iptables,
// each run once per route, rule and filter line); a host that starts 100
// containers at boot waited seconds on them, one after the other. A batch is:
//   * `host_prepare` (ip -batch, must succeed): links left over by an
//     earlier run deleted (only those that exist), each veth pair created
//     with its container end made directly inside the container's netns;
//   * `inside[netns]` (ip -n/-netns ... -batch, one per container): lo up,
//     eth0 up, the address /32, the route to the gateway and the default;
//   * `host_rule_cleanup` (ip -force -batch, errors ignored): stale
//     "iif <veth>" rules of a veth name used before;
//   * `host_routes` (ip -batch, must succeed): veth up with the gateway
//     address, the /32 in main and in the env's table, the "iif" rule;
//   * `iptables` (iptables-restore --noflush): each veth's gateway chain
//     declared (so flushed) and filled, and INPUT's jump to it inserted
//     unless `jumped` says it is there already.
// rp_filter is a sysctl file, written by the caller. Thread-safe (pure).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "overlay/control.h"

namespace rv::overlay {

struct AttachBatch {
  std::string host_prepare;
  std::map<std::string, std::string> inside;  // netns (name or path) -> its ip batch
  std::string host_rule_cleanup;
  std::string host_routes;
  std::string iptables;
};

// `existing_links`: interface names present in the host's netns now;
// `jumped`: veths whose INPUT jump to their gateway chain exists.
AttachBatch PlanAttachBatch(uint32_t env_id, const std::vector<Attachment>& as, int mtu,
                            const std::vector<GatewayPort>& gateway_ports, const std::set<std::string>& existing_links,
                            const std::set<std::string>& jumped);

// The container end's temporary name in the per-container path ("rvp<addr hex>").
std::string PeerName(uint32_t addr);
// The iptables chain that filters what a veth may send to the gateway.
std::string GatewayChainOf(const std::string& veth);
// The lines of a gateway chain (without "-A <chain>"), shared with SetGatewayFilter.
std::vector<std::vector<std::string>> GatewayRules(const std::vector<GatewayPort>& gateway_ports);

}  // namespace rv::overlay
