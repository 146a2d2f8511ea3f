// An environment proxy's routes: where each app's healthy web replicas of the
// environment answer on its overlay (docs/PROXY.md "Environment proxy").
//
//   strider (proxy job) --DEALER--> sauron  host.proxy_routes -> ProxyRoutes
//
// Contract:
//  * Answered only to a host that has a placed job with spec.kind == "proxy"
//    and spec.env == env (the host asks for itself only).
//  * Addresses are overlay addresses of the env: plaintext from the proxy to a
//    replica travels only on the env's encrypted overlay.
//  * `self_addr` is the asking host's own proxy container's overlay address
//    ("" until sauron assigned one), so the host can relay its ingress to it.
//  * `peers` are the env's other running proxy replicas' ingress endpoints
//    ("HOSTADDR:PORT" on the underlay, sorted): where a host relays a
//    connection its own proxy container cannot take (restarting, gone).
//  * `version` is a digest of the content: equal versions, equal routes.
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

struct ProxyRoutesRequest {
  static constexpr const char* kType = "host.proxy_routes";
  std::string host_id;
  std::string env;                    // TENANT/ENV
  RV_DEFINE_MAP(host_id, env);
};

struct ProxyBackend {
  std::string job_id;
  std::string addr;                   // overlay address
  int32_t port = 0;
  std::string run_state;              // as the replica's host last reported it
  RV_DEFINE_MAP(job_id, addr, port, run_state);
};

struct ProxyApp {
  std::string app;                    // TENANT/ENV/APP
  std::vector<ProxyBackend> backends; // sorted by job id
  int64_t rate_limit = 0;             // requests/s per client address (over 10 s); 0 = none
  int64_t body_limit = 0;             // bytes of a request body (Content-Length); 0 = none
  RV_DEFINE_MAP(app, backends, rate_limit, body_limit);
};

struct ProxyRoutes {
  static constexpr const char* kType = "proxy_routes";
  std::string env;
  std::string self_addr;              // this host's proxy container on the overlay
  std::string version;
  std::vector<ProxyApp> apps;         // sorted by app
  std::vector<std::string> peers;     // other proxy replicas' "HOSTADDR:PORT"
  int64_t conn_limit = 0;             // concurrent connections per client address; 0 = the proxy's default
  RV_DEFINE_MAP(env, self_addr, version, apps, peers, conn_limit);
};

}  // namespace rv::msg
