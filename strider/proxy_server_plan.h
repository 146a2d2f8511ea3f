// PlanServerChanges: what the strider does to a running environment proxy's
// servers when it rendered new files (docs/PROXY.md "What the strider does").
// HAProxy's current worker runs the files of the last reload taken (the
// loaded files) plus what the runtime API changed since (ProxyServerState).
// For new files:
//
//  1. A server of the loaded files, or one added since, that the new files
//     no longer have leaves at once: maintenance (no new requests; those in
//     flight finish). Once per server.
//  2. When the new files are the loaded ones less some servers and plus
//     others, and nothing else (ProxyConfigOnlyChangesServers), the runtime
//     API applies the whole change:
//     - a server out of rotation that the new files have again comes back;
//     - a new server is added to the current worker
//       (ProxyAddServerCommands), unless it was added since the last reload:
//       then its commands must be the same (a new address is a reload).
//  3. Anything else is the reload's: `runtime` is false, and only step 1
//     happens before it.
//
// Pure: the caller sends the commands (those to add, to the current worker
// only: old workers just finish their connections). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace rv::strider {

// A server the runtime API added to the current worker: its commands, and the
// names they made (the server and its _body twins), which go in and out of
// rotation together.
struct ProxyRuntimeServer {
  std::vector<std::string> cmds;
  std::vector<std::string> names;
};

// What the current worker runs beyond the loaded files. Emptied when a
// reload is taken.
struct ProxyServerState {
  std::set<std::string> out_of_rotation;            // in maintenance since the last reload
  std::map<std::string, ProxyRuntimeServer> added;  // added since the last reload
};

// A configuration and its servers ("backend/server", from the renderer).
struct ProxyServerFiles {
  const std::string& cfg;
  const std::vector<std::string>& servers;
};

struct ProxyServerPlan {
  bool runtime = false;                                      // step 2 applies the whole change
  std::vector<std::string> leaving;                          // step 1
  std::vector<std::string> back;                             // step 2, out of rotation no more
  std::map<std::string, ProxyRuntimeServer> to_add;          // step 2, with their commands and names
  bool settled = false;  // after it the worker runs the new files exactly: no reload needed
};

// The plan for `after`. may_use_runtime: HAProxy runs the loaded files and
// no reload is in flight (ProxyReload::RuntimeOnly).
ProxyServerPlan PlanServerChanges(ProxyServerFiles loaded, ProxyServerFiles after, const ProxyServerState& state,
                                  bool may_use_runtime);

// The state once the plan's commands were all sent (taken or not: a change
// not taken whole is the reload's, which empties the state).
void ApplyServerPlan(const ProxyServerPlan& plan, ProxyServerState* state);

}  // namespace rv::strider
