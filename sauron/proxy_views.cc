#include "sauron/proxy_views.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/crypto/sha256.h"
#include "common/states.h"

namespace rv::sauron {
namespace {

int64_t Digest(crypto::Sha256& h) {
  std::string hex = h.HexDigest();
  return static_cast<int64_t>(std::stoull(hex.substr(0, 16), nullptr, 16) >> 1);
}

void Field(crypto::Sha256& h, const std::string& s) {
  std::string len = std::to_string(s.size()) + ":";
  h.Update(len);
  h.Update(s);
}

bool IsProxyOf(const msg::JobRecord& j, const std::string& env) {
  return j.state == job_state::kPlaced && j.spec.kind == kProxyJobKind && j.spec.env == env;
}

}  // namespace

std::optional<std::string> ProxyCertsRefusal(const std::string& host_id, const std::string& env,
                                             const std::vector<msg::JobRecord>& placed) {
  if (env.empty()) return "no environment named";
  for (const auto& j : placed) {
    if (IsProxyOf(j, env) && j.host_id == host_id) return std::nullopt;
  }
  return "host '" + host_id + "' runs no proxy job of " + env;
}

msg::EdgeRoutes BuildEdgeRoutes(const std::vector<DomainRow>& names, const std::vector<msg::JobRecord>& placed,
                                const std::vector<msg::HostRecord>& hosts) {
  msg::EdgeRoutes out;
  for (const auto& n : names) out.routes.push_back(msg::EdgeRoute{n.name, n.env});
  std::sort(out.routes.begin(), out.routes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::map<std::string, const msg::HostRecord*> by_id;
  for (const auto& h : hosts) by_id[h.id] = &h;
  std::map<std::string, std::set<std::string>> eps;
  for (const auto& j : placed) {
    if (j.state != job_state::kPlaced || j.spec.kind != kProxyJobKind || j.run_state != "running") continue;
    if (j.spec.port <= 0 || j.spec.port > 65535) continue;
    auto h = by_id.find(j.host_id);
    if (h == by_id.end() || h->second->address.empty()) continue;
    eps[j.spec.env].insert(h->second->address + ":" + std::to_string(j.spec.port));
  }
  crypto::Sha256 d;
  for (const auto& r : out.routes) {
    Field(d, r.name);
    Field(d, r.env);
  }
  d.Update("|");
  for (auto& [env, set] : eps) {
    out.proxies.push_back(msg::EdgeProxy{env, std::vector<std::string>(set.begin(), set.end())});
    Field(d, env);
    for (const auto& e : set) Field(d, e);
    d.Update(";");
  }
  out.version = Digest(d);
  return out;
}

int64_t CertsVersion(const std::vector<DomainRow>& rows) {
  crypto::Sha256 d;
  for (const auto& r : rows) {
    Field(d, r.name);
    Field(d, r.app);
    Field(d, r.cert_pem);
    Field(d, std::to_string(r.not_after_ms) + (r.custom ? "c" : "p"));
  }
  return Digest(d);
}

bool CertDue(const DomainRow& row, int64_t now_ms, bool force) {
  if (row.cert_pem.empty()) return true;
  if (row.custom) return false;
  return force || row.not_after_ms - now_ms < kRenewBeforeMs;
}

}  // namespace rv::sauron
