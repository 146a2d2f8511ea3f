// The detail of a "proxy.changed" event (common/event_kinds.h): which
// environment's proxy views may have changed, and the hosts that run a proxy
// of it (the event is addressed to each). Format: "<env> <host>,<host>,...".
//
// Contract: FormatProxyNotice and ParseProxyNotice round-trip for an env
// without spaces and host ids without spaces or commas (sauron's ids and
// TENANT/ENV names never have them). Parsing a malformed detail yields an
// empty env, which receivers ignore. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace rv {

struct ProxyNotice {
  std::string env;
  std::vector<std::string> hosts;
};

inline std::string FormatProxyNotice(const std::string& env, const std::vector<std::string>& hosts) {
  std::string d = env + " ";
  for (size_t i = 0; i < hosts.size(); ++i) d += (i ? "," : "") + hosts[i];
  return d;
}

inline ProxyNotice ParseProxyNotice(const std::string& detail) {
  ProxyNotice n;
  size_t sp = detail.rfind(' ');
  if (sp == std::string::npos || sp == 0) return n;
  n.env = detail.substr(0, sp);
  for (size_t start = sp + 1; start < detail.size();) {
    size_t comma = detail.find(',', start);
    if (comma == std::string::npos) comma = detail.size();
    if (comma > start) n.hosts.push_back(detail.substr(start, comma - start));
    start = comma + 1;
  }
  return n;
}

// Whether `detail` names `host_id` among its hosts.
inline bool ProxyNoticeFor(const ProxyNotice& n, const std::string& host_id) {
  for (const auto& h : n.hosts)
    if (h == host_id) return true;
  return false;
}

}  // namespace rv
