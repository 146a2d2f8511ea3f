// The environment proxies' requests (docs/PROXY.md "Environment proxy"):
// host.proxy_routes, the web replicas a host's proxy of an env sends to.
#include "common/msg/proxy_routes.h"
#include "common/states.h"
#include "sauron/api_requests.h"
#include "sauron/proxy_routes.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Result<std::string> Routes(ApiCall& c, msg::ProxyRoutesRequest& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  if (!c.deps.overlay) return Status::Unavailable("the overlay is disabled on this sauron");
  // The env's placed jobs only (from the store's memory): this is asked at
  // every change of the env by each of its proxies.
  const auto placed = c.deps.store->JobsOfEnv(b.env, job_state::kPlaced);
  std::vector<msg::OverlayRoute> routes;
  for (auto& e : c.deps.overlay->Listing(b.env)) routes = std::move(e.routes);
  std::map<std::string, std::string> cfg;  // plain vars only: the limits
  if (c.deps.env_config && c.deps.env_config->HasVars(b.env)) {
    if (auto vars = c.deps.env_config->List(b.env); vars.ok()) {
      for (const auto& v : *vars) {
        if (!v.secret && v.name.rfind("ROUTER_", 0) == 0) cfg[v.name] = v.value;
      }
    }
  }
  auto r = ProxyRoutesFor(c.user, b.env, placed, routes, c.deps.store->Hosts(), cfg);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kDenied) c.audit.Refuse(c.user, r.status().message());
    return r.status();
  }
  c.deps.counters->Add("proxy.routes");
  return Answer(*r);
}

}  // namespace

void RegisterProxyRequests(RequestTable& t) { t.On<msg::ProxyRoutesRequest>(RoleSet{Role::kHost}, G::kAlone, Routes); }

}  // namespace rv::sauron
