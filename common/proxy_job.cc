#include "common/proxy_job.h"

#include <cstdio>

namespace rv {

int ProxyPortFor(const std::string& env) {
  uint32_t h = 2166136261u;
  for (unsigned char c : env) h = (h ^ c) * 16777619u;
  return 10000 + static_cast<int>(h % 10000);
}

std::string ProxyBackendName(const std::string& app) {
  std::string out = "app_";
  uint32_t h = 2166136261u;
  for (unsigned char c : app) {
    h = (h ^ c) * 16777619u;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (out.size() <= 80) out += ok ? static_cast<char>(c) : '_';
  }
  char buf[12];
  snprintf(buf, sizeof buf, "_%08x", h);
  return out + buf;
}

std::string ProxyBodyBackendName(const std::string& app) { return ProxyBackendName(app) + "_body"; }

Result<std::vector<msg::JobSpec>> ProxyJobsFor(const std::string& env, const std::string& image) {
  auto slash = env.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == env.size() || env.find('/', slash + 1) != std::string::npos)
    return Status::Invalid("environment must be TENANT/ENV, got '" + env.substr(0, 64) + "'");
  for (char c : env) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '/';
    if (!ok) return Status::Invalid("environment names are letters, digits, - and _");
  }
  std::string dotted = env;
  dotted[slash] = '.';
  std::vector<msg::JobSpec> out;
  for (int n = 1; n <= kProxyReplicas; ++n) {
    msg::JobSpec j;
    j.id = dotted + ".proxy-" + std::to_string(n);
    j.kind = "proxy";
    j.tenant = env.substr(0, slash);
    j.env = env;
    j.service = env + ":proxy";
    j.replica = n;
    j.resources = {128, 64, 200};
    j.rules.ha = true;
    j.image = image;
    j.port = ProxyPortFor(env);
    j.health.interval_ms = 1000;
    j.health.timeout_ms = 500;
    j.restart = "always";
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace rv
