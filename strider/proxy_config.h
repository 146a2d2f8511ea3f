// RenderProxyConfig: an environment proxy's HAProxy configuration, from its
// names (host.proxy_certs) and its apps' healthy web replicas
// (host.proxy_routes). Pure: no I/O, the same input gives the same bytes, so
// the caller reloads HAProxy only when the output changed
// (docs/PROXY.md "Environment proxy").
//
// What the configuration holds:
//  * One frontend on *:port and, when the strider passed one, on the ingress
//    socket it made on the host (`bind fd@N`, socket activation:
//    strider/proxy_relay.h): PROXY protocol from the edge (accept-proxy), TLS
//    ended with the env's certificates (crt-list, SNI picks the certificate;
//    TLS 1.2+ with AEAD ciphers only; ALPN h2, http/1.1), a request ID
//    (X-Request-ID, also in the access log on stdout), routing by Host
//    through a map (name -> backend), anything else 404.
//  * One backend per app: its replicas over the overlay, least connections
//    first (ties round robin), short health checks, retries of idempotent
//    requests on another replica (retry-on + redispatch), connect/server/
//    tunnel timeouts (WebSockets pass).
//  * Limits: connections per client address (the PROXY header's source) on
//    the frontend; per app, a request rate per client address (429) and a
//    body size (413): with a length or without one, at any size, counted as
//    it streams (strider/proxy_body_limit.h). Slow clients:
//    `timeout http-request`.
//  * The per-app limits are values in two maps (name -> limit), never in
//    haproxy.cfg: every app has its rate table and its body-limited backend
//    whether it has limits or not. So a change of limits (`rv config:set
//    ROUTER_*`) changes only the maps, and the strider applies it to the
//    running workers by the runtime API in milliseconds, with no reload
//    (strider/proxy_runtime.h ProxyMapCommands).
//  * Names and app ids are hostile input: a name that is not a DNS name, or a
//    server that is not IPv4:port, is left out (counted in `skipped`).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rv::strider {

struct ProxySite {
  std::string name;       // DNS name (SNI and Host)
  std::string app;        // TENANT/ENV/APP
  std::string pem_file;   // certificate chain + key, as the proxy sees the path
};

struct ProxyServer {
  std::string id;         // job id
  std::string addr;       // overlay IPv4
  int port = 0;
};

struct ProxyAppLimits {
  int64_t rate = 0;        // requests/s per client address over 10 s (429 above); 0 = none
  int64_t body = 0;        // request body bytes (413 above); 0 = none
};

struct ProxyConfigInput {
  int port = 0;                        // the ingress port inside the container
  int ingress_fd = -1;                 // the host's ingress listener HAProxy inherited; -1: none
  std::string dir = "/run/proxy";      // the proxy's run dir as it sees it
  std::string fallback_pem;            // a certificate for unknown SNI (HAProxy needs one)
  std::vector<ProxySite> sites;
  std::map<std::string, std::vector<ProxyServer>> servers;  // app -> replicas
  std::map<std::string, ProxyAppLimits> limits;             // app -> its limits
  int conn_limit = 100;                // concurrent connections per client address (PROXY source)
  int check_inter_ms = 1000;           // HTTP checks of a healthy replica (each is a line in its log)
  int connect_timeout_ms = 1000;
  int server_timeout_ms = 30000;
  int client_timeout_ms = 30000;
  int request_timeout_ms = 10000;      // whole request headers (slow clients)
  int maxconn = 450;                   // the container has RLIMIT_NOFILE 1024 (2 fds per connection)
};

// The configuration's files, by name in the proxy's run dir.
inline constexpr char kProxyConfigFile[] = "haproxy.cfg";
inline constexpr char kProxyCrtListFile[] = "certs.list";
inline constexpr char kProxyHostsMapFile[] = "hosts.map";
inline constexpr char kProxyBodyMapFile[] = "bodies.map";
inline constexpr char kProxyRateMapFile[] = "rates.map";
inline constexpr char kProxyBodyLimitFile[] = "body_limit.lua";  // strider/proxy_body_limit.h

struct ProxyConfigFiles {
  std::string haproxy_cfg;
  std::string crt_list;    // <dir>/certs.list
  std::string hosts_map;   // <dir>/hosts.map: name -> backend
  std::string body_map;    // <dir>/bodies.map: name -> its app's body limit in bytes (apps with one)
  std::string rate_map;    // <dir>/rates.map: name -> its app's requests per client per 10 s (apps with one)
  std::string body_limit_lua;  // <dir>/body_limit.lua (constant)
  int skipped = 0;
  // Every replica's server as the runtime API names it ("backend/server"), in
  // the apps' first backends: a body-limited backend's servers track these.
  std::vector<std::string> servers;

  // Every file above by its name in the run dir: the one list its writers use.
  std::map<std::string, std::string> ByName() const;
};

ProxyConfigFiles RenderProxyConfig(const ProxyConfigInput& in);

// A DNS name HAProxy and the map may carry: 1-253 chars of [a-z0-9.-], lower case.
bool IsProxyName(const std::string& name);
// The backend an app gets: common/proxy_job.h's ProxyBackendName.
std::string BackendNameFor(const std::string& app);
// Its second backend (ProxyBodyBackendName): the same replicas, the
// requests that may carry a body to a name in bodies.map, through the filter.
std::string BodyBackendNameFor(const std::string& app);

}  // namespace rv::strider
