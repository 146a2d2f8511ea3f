#include "edge/haproxy_config.h"

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
  std::map<std::string, std::string> env_by_name;  // sorted by name: the map's lines
  std::set<std::string> envs;                       // those with a name: one backend each
  for (const auto& r : routes.routes) {
    if (!SafeName(r.name) || !SafeEnv(r.env) || !env_by_name.emplace(r.name, r.env).second) {
      ++out.skipped;
      continue;
    }
    envs.insert(r.env);
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

  // Names and backend names hold no space, '#' or control character (checked
  // above): one "key value" line each, as HAProxy's map files split them.
  std::ostringstream m;
  for (const auto& [name, env] : env_by_name) m << name << " " << BackendName(env) << "\n";
  out.names_map = m.str();
  const std::string map = "map(" + o.names_map + ")";

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

  // HTTPS: route by SNI through the names map, never decrypt. A name not in
  // the map is rejected before use_backend is reached.
  c << "frontend https_in\n"
    << "  mode tcp\n"
    << "  bind " << o.listen << ":" << o.https_port << "\n"
    << "  tcp-request inspect-delay 5s\n"
    << "  acl tls_hello req.ssl_hello_type 1\n"
    << "  acl known_sni req.ssl_sni,lower," << map << " -m found\n"
    << "  tcp-request content reject if tls_hello !known_sni\n"
    << "  tcp-request content accept if tls_hello\n"
    << "  tcp-request content reject\n"
    << "  use_backend %[req.ssl_sni,lower," << map << "]\n"
    << "\n";

  // HTTP: redirect names in the map to HTTPS, 404 for the rest.
  std::string port = o.public_https_port == 443 ? "" : ":" + std::to_string(o.public_https_port);
  c << "frontend http_in\n"
    << "  mode http\n"
    << "  bind " << o.listen << ":" << o.http_port << "\n"
    << "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n"
    << "  acl known_host var(txn.host)," << map << " -m found\n"
    << "  http-request return status 404 content-type \"text/html; charset=utf-8\" string \"" << kUnknownNamePage
    << "\" if !known_host\n"
    << "  http-request redirect code 301 location https://%[var(txn.host)]" << port << "%[url]\n"
    << "\n";

  for (const auto& env : envs) {
    c << "backend " << BackendName(env) << "\n"
      << "  mode tcp\n"
      << "  balance leastconn\n"
      << "  default-server send-proxy-v2 check inter 1s fall 2 rise 1\n";
    int i = 0;
    auto it = eps.find(env);
    if (it != eps.end()) {
      // The check names the port: then HAProxy sends it no PROXY header.
      // A check that sent one and reset at once was, for the env proxy, a
      // TLS handshake that failed: a line a second in the tenant's access
      // log (`rv logs --router`). A bare connect is a null connection there
      // (dontlognull) and checks the same thing.
      for (const auto& e : it->second)
        c << "  server p" << i++ << " " << e << " check port " << e.substr(e.rfind(':') + 1) << "\n";
    }
    c << "\n";
  }
  out.text = c.str();
  return out;
}

}  // namespace rv::edge
