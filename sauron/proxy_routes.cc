#include "sauron/proxy_routes.h"

#include <algorithm>
#include <map>

namespace rv::sauron {

bool IsWebReplica(const msg::JobSpec& j) {
  if (j.kind != "deploy" || j.image.empty() || j.port <= 0 || j.app.empty()) return false;
  auto t = j.config.find("RV_PROCESS_TYPE");
  return t == j.config.end() || t->second == "web";
}

namespace {

// FNV-1a, 64 bits: a content digest for change detection, not security.
uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

// A config var as a number in [1, max]; 0 when absent or not one.
int64_t Limit(const std::map<std::string, std::string>& cfg, const std::string& name, int64_t max) {
  auto it = cfg.find(name);
  if (it == cfg.end() || it->second.empty() || it->second.size() > 12) return 0;
  int64_t v = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v >= 1 && v <= max ? v : 0;
}

// NAME_<APP>: the per-app form of a limit var, the app's name upper-cased
// with '-' as '_' (ROUTER_RATE_LIMIT_API_V2 for app api-v2).
std::string AppVar(const std::string& name, const std::string& app) {
  std::string v = name + "_";
  for (char c : app) v += c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return v;
}

// An app's limit: its own var if set to a valid number, else the env's.
int64_t AppLimit(const std::map<std::string, std::string>& cfg, const std::string& name, const std::string& app,
                 int64_t max) {
  const int64_t own = Limit(cfg, AppVar(name, app), max);
  return own > 0 ? own : Limit(cfg, name, max);
}

}  // namespace

Result<msg::ProxyRoutes> ProxyRoutesFor(const std::string& asker, const std::string& env,
                                        const std::vector<msg::JobRecord>& placed,
                                        const std::vector<msg::OverlayRoute>& routes,
                                        const std::vector<msg::HostRecord>& hosts,
                                        const std::map<std::string, std::string>& env_config) {
  std::map<std::string, std::string> host_addr;
  for (const auto& h : hosts) host_addr[h.id] = h.address;
  if (env.empty()) return Status::Invalid("host.proxy_routes needs an env");
  std::map<std::string, std::string> addr_of;  // job id -> overlay address (current attempt)
  std::map<std::string, int64_t> attempt_of;
  for (const auto& r : routes) {
    if (!attempt_of.count(r.job_id) || r.attempt > attempt_of[r.job_id]) {
      addr_of[r.job_id] = r.addr;
      attempt_of[r.job_id] = r.attempt;
    }
  }
  msg::ProxyRoutes out;
  out.env = env;
  bool allowed = false;
  std::map<std::string, std::vector<msg::ProxyBackend>> apps;
  for (const auto& j : placed) {
    if (j.state != "placed" || j.spec.env != env) continue;
    if (j.spec.kind == "proxy" && j.host_id == asker) {
      allowed = true;
      auto a = addr_of.find(j.spec.id);
      if (a != addr_of.end() && attempt_of[j.spec.id] == j.attempt) out.self_addr = a->second;
      continue;
    }
    if (j.spec.kind == "proxy") {
      auto h = host_addr.find(j.host_id);
      if (j.run_state == "running" && h != host_addr.end() && !h->second.empty() && j.spec.port > 0)
        out.peers.push_back(h->second + ":" + std::to_string(j.spec.port));
      continue;
    }
    if (!IsWebReplica(j.spec) || j.run_state != "running") continue;
    auto a = addr_of.find(j.spec.id);
    if (a == addr_of.end() || attempt_of[j.spec.id] != j.attempt) continue;
    apps[env + "/" + j.spec.app].push_back(msg::ProxyBackend{j.spec.id, a->second, j.spec.port, j.run_state});
  }
  if (!allowed) return Status::Denied("host '" + asker + "' runs no proxy of environment '" + env + "'");
  std::sort(out.peers.begin(), out.peers.end());
  out.peers.erase(std::unique(out.peers.begin(), out.peers.end()), out.peers.end());
  out.conn_limit = Limit(env_config, "ROUTER_MAX_CONNS", 100000);
  uint64_t h = Fnv(1469598103934665603ull, out.self_addr);
  h = Fnv(h, std::to_string(out.conn_limit));
  for (const auto& p : out.peers) h = Fnv(h, p);
  for (auto& [app, b] : apps) {
    const std::string name = app.substr(app.rfind('/') + 1);
    const int64_t rate = AppLimit(env_config, "ROUTER_RATE_LIMIT", name, 1000000);
    const int64_t body = AppLimit(env_config, "ROUTER_MAX_BODY", name, int64_t{1} << 40);
    std::sort(b.begin(), b.end(), [](const auto& x, const auto& y) { return x.job_id < y.job_id; });
    h = Fnv(Fnv(Fnv(h, app), std::to_string(rate)), std::to_string(body));
    for (const auto& x : b) h = Fnv(Fnv(Fnv(h, x.job_id), x.addr), std::to_string(x.port));
    out.apps.push_back(msg::ProxyApp{app, std::move(b), rate, body});
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  out.version = buf;
  return out;
}

}  // namespace rv::sauron
