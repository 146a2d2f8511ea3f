// ProxyRoutesFor: what an environment proxy routes to, from sauron's state
// (pure; the request handler is in api_proxy.cc).
//
// Contract:
//  * `asker` may read `env`'s routes only if one of `placed` is a proxy job
//    (spec.kind == "proxy") of `env` placed on it; otherwise Denied.
//  * A backend is a placed job of `env` that is a web process (kind "deploy",
//    an image, a port, and RV_PROCESS_TYPE "web" or unset) whose host reports
//    it running (healthy) and that has an overlay address in `routes`.
//    A replica that is starting, unhealthy, exited or stopping is left out:
//    the proxy stops sending it new requests at once.
//  * peers: every other placed proxy job of `env` reported running, on another
//    host with an address: "HOSTADDR:PORT" (its spec.port), sorted.
//  * Limits come from the env's plain config vars (rv config:set ENV ...):
//    ROUTER_RATE_LIMIT (requests/s per client address), ROUTER_MAX_BODY (bytes),
//    ROUTER_MAX_CONNS (connections per client address); each app gets its
//    own counters. A value that is not a number in range is ignored.
//  * Apps and backends are sorted; `version` is a digest of the content.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/msg/overlay.h"
#include "common/msg/proxy_routes.h"
#include "common/msg/types.h"
#include "common/status.h"

namespace rv::sauron {

Result<msg::ProxyRoutes> ProxyRoutesFor(const std::string& asker, const std::string& env,
                                        const std::vector<msg::JobRecord>& placed,
                                        const std::vector<msg::OverlayRoute>& routes,
                                        const std::vector<msg::HostRecord>& hosts = {},
                                        const std::map<std::string, std::string>& env_config = {});

// Whether `j` is a web replica a proxy may send requests to (ignoring state).
bool IsWebReplica(const msg::JobSpec& j);

}  // namespace rv::sauron
