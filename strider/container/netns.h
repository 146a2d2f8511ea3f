// Network namespaces for containers.
//
// Each container gets a named netns (/var/run/netns/<name>, bound the way
// iproute2 does it) prepared before runc starts, so the network exists when
// the app starts: loopback up, and a veth pair with the host end `<host_if>`
// in the host's namespace and `eth0` inside. By default the pair gets a /30
// from the runtime's pool (host .1, container .2, default route via .1), which
// makes the app reachable from its own host. A job of an environment gets no
// pair when a NetworkHook is set: the overlay (overlayd) plumbs its eth0 onto
// the environment's network itself. A netns with lo alone is made and removed
// without running any process (a host starting 100 containers at boot spent
// seconds running ip).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace rv::container {

struct NetnsInfo {
  std::string name;         // netns name
  std::string container_id; // the container it belongs to (what the overlay's routes name)
  std::string path;         // /var/run/netns/<name>
  std::string host_if;      // host end of the veth pair ("" = no veth)
  std::string host_ip, container_ip;  // "" when not assigned here
  // 1..65535, different each time the container's netns is made, the same
  // for as long as it lives (the container's adopt record keeps it across
  // strider restarts); the overlay names the container's veth after it. 0 = unknown.
  int64_t generation = 0;
};

// Called once the pair exists. `job_env` is the job's environment (overlay id).
using NetworkHook = std::function<Status(const NetnsInfo& ns, const std::string& job_env)>;

// Creates netns `name`; with `veth`, the pair and (if `subnet_index` >= 0) the
// 10.<a>.<b>.<c>/30 addresses from `pool_prefix` ("10.250"), block subnet_index.
Result<NetnsInfo> CreateNetns(const std::string& name, bool veth, const std::string& pool_prefix, int subnet_index);
// Removes the netns (its veth goes with it). Missing is not an error.
Status DeleteNetns(const std::string& name);

// Runs fn on a thread that has joined the netns at `path`; sockets it opens
// live in that namespace.
Status InNetns(const std::string& path, const std::function<void()>& fn);

// Health probes, from inside the container's netns: TCP connect to
// 127.0.0.1:port; with http_path, a GET that must answer 2xx/3xx.
Status ProbeTcp(const std::string& netns_path, int port, int timeout_ms);
Status ProbeHttp(const std::string& netns_path, int port, const std::string& path, int timeout_ms);

}  // namespace rv::container
