#include "sauron/proxy_notices.h"

#include "common/event_kinds.h"
#include "common/states.h"
#include "sauron/proxy_routes.h"
#include "sauron/proxy_views.h"

namespace rv::sauron {

namespace {

bool Interesting(const msg::JobSpec& s) {
  return !s.env.empty() && (s.kind == kProxyJobKind || IsWebReplica(s));
}

std::string Print(const msg::JobRecord& j) {
  if (j.state != job_state::kPlaced || j.host_id.empty()) return "";
  return j.host_id + "#" + std::to_string(j.attempt) + "#" + j.run_state;
}

}  // namespace

void ProxyNotices::Load(const std::vector<msg::JobRecord>& placed, const std::vector<msg::HostRecord>& hosts) {
  for (const auto& h : hosts) host_addr_[h.id] = h.address;
  for (const auto& j : placed) OnJob(j);
  dirty_.clear();
  edge_dirty_ = false;
}

void ProxyNotices::OnJob(const msg::JobRecord& j) {
  if (!Interesting(j.spec)) return;
  const bool proxy = j.spec.kind == kProxyJobKind;
  std::string print = Print(j);
  auto it = jobs_.find(j.spec.id);
  std::string before = it == jobs_.end() ? "" : it->second.print;
  if (print == before) return;
  if (it != jobs_.end() && it->second.proxy) {
    auto& m = proxy_hosts_[it->second.env];
    if (--m[it->second.host] <= 0) m.erase(it->second.host);
    if (m.empty()) proxy_hosts_.erase(it->second.env);
  }
  if (print.empty()) {
    jobs_.erase(j.spec.id);
  } else {
    jobs_[j.spec.id] = Tracked{j.spec.env, j.host_id, proxy, print};
    if (proxy) ++proxy_hosts_[j.spec.env][j.host_id];
  }
  dirty_.insert(j.spec.env);
  if (proxy) edge_dirty_ = true;
}

void ProxyNotices::OnHost(const msg::HostRecord& h) {
  auto it = host_addr_.find(h.id);
  if (it != host_addr_.end() && it->second == h.address) return;
  host_addr_[h.id] = h.address;
  // Its proxies' peers and the edge's endpoints name this address.
  for (const auto& [env, hosts] : proxy_hosts_) {
    if (hosts.count(h.id)) {
      dirty_.insert(env);
      edge_dirty_ = true;
    }
  }
}

void ProxyNotices::OnChange(const msg::Change& c) {
  const std::string& kind = c.event.kind;
  if (c.job && kind.rfind(event_kind::kJobPrefix, 0) == 0) OnJob(*c.job);
  if (c.host) OnHost(*c.host);
  if (kind == event_kind::kDomainsChanged) {
    if (!c.event.detail.empty()) dirty_.insert(c.event.detail);
    edge_dirty_ = true;
  } else if (kind == event_kind::kConfigSet || kind == event_kind::kConfigUnset) {
    // detail: "<env>: <names>" (names may be cut short: any change counts).
    size_t colon = c.event.detail.find(": ");
    if (colon != std::string::npos && colon > 0) dirty_.insert(c.event.detail.substr(0, colon));
  }
}

ProxyNotices::Due ProxyNotices::Take() {
  Due d;
  d.edge = edge_dirty_;
  for (const auto& env : dirty_) {
    auto it = proxy_hosts_.find(env);
    if (it == proxy_hosts_.end() || it->second.empty()) continue;
    std::vector<std::string> hosts;
    for (const auto& [h, _] : it->second) hosts.push_back(h);
    d.envs.emplace_back(env, std::move(hosts));
  }
  dirty_.clear();
  edge_dirty_ = false;
  return d;
}

std::vector<std::string> ProxyNotices::ProxyHosts(const std::string& env) const {
  std::vector<std::string> out;
  auto it = proxy_hosts_.find(env);
  if (it != proxy_hosts_.end())
    for (const auto& [h, _] : it->second) out.push_back(h);
  return out;
}

}  // namespace rv::sauron
