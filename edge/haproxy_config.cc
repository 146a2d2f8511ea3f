#include "edge/haproxy_config.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

namespace rv::edge {
namespace {

bool SafeName(const std::string& n) {
  if (n.empty() || n.size() > 253 || n.front() == '.' || n.back() == '.' || n.find("..") != std::string::npos) {
    return false;
  }
  for (unsigned char c : n) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '.')) return false;
  }
  return true;
}

bool SafeEnv(const std::string& e) {
  if (e.empty() || e.size() > 81) return false;
  for (unsigned char c : e) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '/')) return false;
  }
  return true;
}

// ADDR:PORT with ADDR an IPv4 address or a host name, PORT 1-65535.
bool SafeEndpoint(const std::string& ep) {
  auto colon = ep.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= ep.size() || ep.size() > 300) return false;
  std::string port = ep.substr(colon + 1);
  if (port.size() > 5) return false;
  for (unsigned char c : port) {
    if (!std::isdigit(c)) return false;
  }
  int p = std::stoi(port);
  if (p < 1 || p > 65535) return false;
  for (unsigned char c : ep.substr(0, colon)) {
    if (!(std::isalnum(c) || c == '.' || c == '-')) return false;
  }
  return true;
}

// HAProxy lines stay short: at most 16 names per ACL line (ACLs of one name OR).
std::vector<std::string> Chunks(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::string line;
  int n = 0;
  for (const auto& name : names) {
    if (n == 16 || line.size() + name.size() > 1500) {
      out.push_back(line);
      line.clear();
      n = 0;
    }
    line += (line.empty() ? "" : " ") + name;
    ++n;
  }
  if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

const char kUnknownNamePage[] =
    "<!doctype html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
    "<p>No app answers at this name on this Rivendell pod.</p></body></html>";

std::string BackendName(const std::string& env) {
  std::string b = "env_" + env;
  for (char& c : b) {
    if (c == '/') c = '.';
  }
  return b;
}

RenderedConfig RenderHaproxyConfig(const EdgeOptions& o, const msg::EdgeRoutes& routes) {
  RenderedConfig out;
  std::map<std::string, std::vector<std::string>> names_by_env;  // env -> names (sorted)
  std::set<std::string> seen;
  for (const auto& r : routes.routes) {
    if (!SafeName(r.name) || !SafeEnv(r.env) || !seen.insert(r.name).second) {
      ++out.skipped;
      continue;
    }
    names_by_env[r.env].push_back(r.name);
  }
  std::map<std::string, std::vector<std::string>> eps;
  for (const auto& p : routes.proxies) {
    if (!SafeEnv(p.env)) {
      ++out.skipped;
      continue;
    }
    auto& v = eps[p.env];
    for (const auto& e : p.endpoints) {
      if (SafeEndpoint(e)) {
        v.push_back(e);
      } else {
        ++out.skipped;
      }
    }
  }
  for (auto& [env, names] : names_by_env) std::sort(names.begin(), names.end());
  std::vector<std::string> all_names(seen.begin(), seen.end());

  std::ostringstream c;
  c << "# Rendered by rv-edge from sauron's edge.routes (version " << routes.version << "). Do not edit.\n"
    << "global\n"
    << "  maxconn " << o.max_conn << "\n"
    << "  hard-stop-after " << o.hard_stop_after_s << "s\n"
    << "  log stderr format short daemon notice\n"
    << "\n"
    << "defaults\n"
    << "  log global\n"
    << "  timeout connect 3s\n"
    << "  timeout client 60s\n"
    << "  timeout server 60s\n"
    << "  timeout client-fin 5s\n"
    << "  timeout tunnel 1h\n"
    << "  timeout http-request 10s\n"
    << "\n";

  // HTTPS: route by SNI, never decrypt.
  c << "frontend https_in\n"
    << "  mode tcp\n"
    << "  bind " << o.listen << ":" << o.https_port << "\n"
    << "  tcp-request inspect-delay 5s\n"
    << "  acl tls_hello req.ssl_hello_type 1\n";
  for (const auto& line : Chunks(all_names)) c << "  acl known_sni req.ssl_sni -i " << line << "\n";
  if (all_names.empty()) c << "  acl known_sni always_false\n";
  c << "  tcp-request content reject if tls_hello !known_sni\n"
    << "  tcp-request content accept if tls_hello\n"
    << "  tcp-request content reject\n";
  for (const auto& [env, names] : names_by_env) {
    for (const auto& line : Chunks(names)) {
      c << "  use_backend " << BackendName(env) << " if { req.ssl_sni -i " << line << " }\n";
    }
  }
  c << "\n";

  // HTTP: redirect known names to HTTPS, 404 for the rest.
  std::string port = o.public_https_port == 443 ? "" : ":" + std::to_string(o.public_https_port);
  c << "frontend http_in\n"
    << "  mode http\n"
    << "  bind " << o.listen << ":" << o.http_port << "\n"
    << "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n";
  for (const auto& line : Chunks(all_names)) c << "  acl known_host var(txn.host) -m str " << line << "\n";
  if (all_names.empty()) c << "  acl known_host always_false\n";
  c << "  http-request return status 404 content-type \"text/html; charset=utf-8\" string \"" << kUnknownNamePage
    << "\" if !known_host\n"
    << "  http-request redirect code 301 location https://%[var(txn.host)]" << port << "%[url]\n"
    << "\n";

  for (const auto& [env, names] : names_by_env) {
    c << "backend " << BackendName(env) << "\n"
      << "  mode tcp\n"
      << "  balance leastconn\n"
      << "  default-server send-proxy-v2 check inter 1s fall 2 rise 1\n";
    int i = 0;
    auto it = eps.find(env);
    if (it != eps.end()) {
      for (const auto& e : it->second) c << "  server p" << i++ << " " << e << "\n";
    }
    c << "\n";
  }
  out.text = c.str();
  return out;
}

}  // namespace rv::edge
