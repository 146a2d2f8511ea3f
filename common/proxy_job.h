// An environment's proxy jobs (docs/PROXY.md "Environment proxy"): what
// `rv proxy:ensure ENV` (and rv-deploy, for a web release) submits.
//
//  * Two replicas, ids "<tenant>.<env>.proxy-1" and "-2", service
//    "<TENANT/ENV>:proxy", rules.ha (never on one host), restart always,
//    kind "proxy", env TENANT/ENV, image the pod's proxy image.
//  * spec.port = ProxyPortFor(env): the ingress port on the proxy's host and
//    HAProxy's port in its container. The same on every host, different for
//    different envs except for a hash collision (10000 ports): two envs whose
//    proxies collide never share a host, since a strider declines (and will
//    not admit) a proxy job whose port another env's proxy holds there
//    (strider/bidder.cc, strider/reservations.cc).
// Pure.
#pragma once

#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv {

inline constexpr const char* kProxyKind = "proxy";
inline constexpr const char* kProxyImage = "rivendell/proxy:latest";
inline constexpr int kProxyReplicas = 2;

// 10000 + FNV-1a(env) % 10000: under the test ports (20000+) and the kernel's
// ephemeral range (32768+).
int ProxyPortFor(const std::string& env);

// The HAProxy backend of app TENANT/ENV/APP in its env proxy's configuration
// and access log ("app_" + the id with every byte outside [A-Za-z0-9.-] as
// '_' + 8 hex of its FNV-1a): what `rv logs APP --router` looks for.
std::string ProxyBackendName(const std::string& app);
// Its second backend when it has a body limit (the requests that may carry a
// body): ProxyBackendName + "_body". Its lines are the app's too.
std::string ProxyBodyBackendName(const std::string& app);

// The env's proxy jobs; Invalid if env is not TENANT/ENV.
Result<std::vector<msg::JobSpec>> ProxyJobsFor(const std::string& env, const std::string& image = kProxyImage);

}  // namespace rv
