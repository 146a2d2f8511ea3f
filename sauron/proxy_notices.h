// ProxyNotices: which environments' proxies, and whether the edge, must be
// told that their views may have changed (docs/PROXY.md "Refresh"). It reads
// the committed changes sauron publishes and decides, with no I/O; the daemon
// turns Take()'s answer into "proxy.changed" / "edge.changed" events once per
// coalescing tick.
//
// Contract:
//  * An env is dirty when something host.proxy_routes or host.proxy_certs
//    reads for it may have changed: a web replica (IsWebReplica) or proxy job
//    of the env whose (placed, host, attempt, run_state) changed; its names or
//    certificates (domains.changed); its config (config.set/unset: the
//    ROUTER_* limits); the address of a host that runs one of its proxies.
//  * The edge is dirty when edge.routes may have changed: a proxy job's
//    (placed, host, attempt, run_state), any names (domains.changed), the
//    address of a host that runs a proxy.
//  * Overlay addresses are assigned when a job is placed, in the same daemon
//    turn, before the tick that publishes: placement covers them.
//  * Take() lists each dirty env with the hosts that run a placed proxy job
//    of it (sorted); an env with none is dropped (nobody to tell: a proxy
//    fetches when it starts). Spurious notices are allowed (a receiver
//    compares versions); a missed one is healed by the receivers' slow
//    fallback refresh.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/msg/protocol.h"

namespace rv::sauron {

class ProxyNotices {
 public:
  struct Due {
    std::vector<std::pair<std::string, std::vector<std::string>>> envs;  // env -> its proxies' hosts
    bool edge = false;
  };

  // Seeds what is placed now (at start); marks nothing dirty.
  void Load(const std::vector<msg::JobRecord>& placed, const std::vector<msg::HostRecord>& hosts);
  // A committed change.
  void OnChange(const msg::Change& c);
  bool Pending() const { return !dirty_.empty() || edge_dirty_; }
  Due Take();

  // The hosts running a placed proxy job of `env`, sorted (for tests).
  std::vector<std::string> ProxyHosts(const std::string& env) const;

 private:
  void OnJob(const msg::JobRecord& j);
  void OnHost(const msg::HostRecord& h);

  struct Tracked {
    std::string env;
    std::string host;
    bool proxy = false;
    std::string print;  // host#attempt#run_state while placed
  };
  std::map<std::string, Tracked> jobs_;                 // placed web replicas and proxies, by job id
  std::map<std::string, std::map<std::string, int>> proxy_hosts_;  // env -> host -> proxy jobs there
  std::map<std::string, std::string> host_addr_;
  std::set<std::string> dirty_;
  bool edge_dirty_ = false;
};

}  // namespace rv::sauron
