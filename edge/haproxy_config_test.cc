#include "edge/haproxy_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace rv::edge {
namespace {

msg::EdgeRoutes Routes() {
  msg::EdgeRoutes r;
  r.version = 42;
  r.routes = {{"web.prod.acme.pod.test", "acme/prod"},
              {"shop.example.com", "acme/prod"},
              {"web.prod.globex.pod.test", "globex/prod"}};
  r.proxies = {{"acme/prod", {"10.93.1.11:8443", "10.93.1.12:8443"}}, {"globex/prod", {"10.93.1.13:8444"}}};
  return r;
}

EdgeOptions Opts() {
  EdgeOptions o;
  o.listen = "10.93.1.1";
  o.http_port = 7440;
  o.https_port = 7441;
  o.public_https_port = 7441;
  o.names_map = "/run/edge/names.map";
  return o;
}

bool Has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(HaproxyConfig, RoutesHttpsBySniToTheEnvsProxiesWithProxyProtocolV2) {
  auto c = RenderHaproxyConfig(Opts(), Routes());
  EXPECT_EQ(c.skipped, 0);
  const auto& t = c.text;
  EXPECT_TRUE(Has(t, "frontend https_in\n  mode tcp\n  bind 10.93.1.1:7441\n  tcp-request inspect-delay 5s\n"));
  EXPECT_TRUE(Has(t, "  use_backend %[req.ssl_sni,lower,map(/run/edge/names.map)]\n"));
  // One rule for every name: the names are in the map, sorted, one per line.
  size_t rules = 0;
  for (size_t p = t.find("use_backend"); p != std::string::npos; p = t.find("use_backend", p + 1)) ++rules;
  EXPECT_EQ(rules, 1u);
  EXPECT_EQ(c.names_map,
            "shop.example.com env_acme.prod\n"
            "web.prod.acme.pod.test env_acme.prod\n"
            "web.prod.globex.pod.test env_globex.prod\n");
  EXPECT_TRUE(Has(t, "backend env_acme.prod\n  mode tcp\n"));
  EXPECT_TRUE(Has(t, "  default-server send-proxy-v2 check"));
  // The checks name the port, so they send no PROXY header (no line in the tenant's log).
  EXPECT_TRUE(Has(t, "  server p0 10.93.1.11:8443 check port 8443\n  server p1 10.93.1.12:8443 check port 8443\n"));
  EXPECT_TRUE(Has(t, "backend env_globex.prod\n"));
  EXPECT_TRUE(Has(t, "  server p0 10.93.1.13:8444 check port 8444\n"));
  // Never decrypts: no certificate, no ssl on any bind or server.
  EXPECT_FALSE(Has(t, " ssl"));
  EXPECT_FALSE(Has(t, "crt "));
  // Nothing else listens: two binds, no stats.
  size_t binds = 0;
  for (size_t p = t.find("  bind "); p != std::string::npos; p = t.find("  bind ", p + 1)) ++binds;
  EXPECT_EQ(binds, 2u);
  EXPECT_FALSE(Has(t, "stats"));
}

TEST(HaproxyConfig, RejectsUnknownOrMissingSniAndNonTls) {
  auto t = RenderHaproxyConfig(Opts(), Routes()).text;
  EXPECT_TRUE(Has(t, "  acl tls_hello req.ssl_hello_type 1\n"));
  EXPECT_TRUE(Has(t, "  acl known_sni req.ssl_sni,lower,map(/run/edge/names.map) -m found\n"));
  auto reject = t.find("  tcp-request content reject if tls_hello !known_sni\n");
  auto accept = t.find("  tcp-request content accept if tls_hello\n");
  auto last = t.find("  tcp-request content reject\n");
  ASSERT_NE(reject, std::string::npos);
  ASSERT_NE(accept, std::string::npos);
  ASSERT_NE(last, std::string::npos);
  EXPECT_LT(reject, accept);
  EXPECT_LT(accept, last);
  // Decided before any backend is chosen.
  EXPECT_LT(last, t.find("  use_backend "));
}

TEST(HaproxyConfig, HttpRedirectsKnownNamesAndAnswers404ToTheRest) {
  auto t = RenderHaproxyConfig(Opts(), Routes()).text;
  EXPECT_TRUE(Has(t, "frontend http_in\n  mode http\n  bind 10.93.1.1:7440\n"));
  EXPECT_TRUE(Has(t, "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n"));
  EXPECT_TRUE(Has(t, "  acl known_host var(txn.host),map(/run/edge/names.map) -m found\n"));
  EXPECT_TRUE(Has(t, "  http-request return status 404 content-type \"text/html; charset=utf-8\" string \""));
  EXPECT_TRUE(Has(t, "No app answers at this name"));
  EXPECT_TRUE(Has(t, "\" if !known_host\n"));
  EXPECT_TRUE(Has(t, "  http-request redirect code 301 location https://%[var(txn.host)]:7441%[url]\n"));
  auto o = Opts();
  o.public_https_port = 443;
  EXPECT_TRUE(Has(RenderHaproxyConfig(o, Routes()).text, "location https://%[var(txn.host)]%[url]\n"));
}

TEST(HaproxyConfig, NoNamesMeansAnEmptyMapAndNoBackends) {
  auto c = RenderHaproxyConfig(Opts(), msg::EdgeRoutes{});
  EXPECT_EQ(c.names_map, "");
  EXPECT_TRUE(Has(c.text, "  acl known_sni req.ssl_sni,lower,map(/run/edge/names.map) -m found\n"));
  EXPECT_FALSE(Has(c.text, "\nbackend "));
}

TEST(HaproxyConfig, AnEnvWithoutRunningProxiesHasAnEmptyBackend) {
  auto r = Routes();
  r.proxies.pop_back();
  auto t = RenderHaproxyConfig(Opts(), r).text;
  auto b = t.find("backend env_globex.prod\n");
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(t.find("  server ", b), std::string::npos);
}

TEST(HaproxyConfig, HostileNamesAndEndpointsCannotInjectConfig) {
  msg::EdgeRoutes r;
  r.routes = {{"ok.example.com", "acme/prod"},
              {"evil.com }\n  server x 1.2.3.4:80", "acme/prod"},
              {"UPPER.example.com", "acme/prod"},
              {"a.example.com", "acme/prod\nfrontend x"},
              {"b.example.com", "acme prod"}};
  r.proxies = {{"acme/prod", {"10.0.0.1:8443", "10.0.0.2:8443 check\n  server y 6.6.6.6:1", "10.0.0.3", "10.0.0.4:0",
                              "10.0.0.5:99999"}}};
  r.routes.push_back({"ok.example.com", "globex/prod"});  // a second claim on a name: the first stays
  r.routes.push_back({"#c.example.com", "acme/prod"});     // would be a comment line in the map
  r.routes.push_back({"d.example.com x", "acme/prod"});    // would be a key with a second word
  auto c = RenderHaproxyConfig(Opts(), r);
  EXPECT_EQ(c.skipped, 11);
  EXPECT_FALSE(Has(c.text, "evil"));
  EXPECT_FALSE(Has(c.text, "6.6.6.6"));
  EXPECT_FALSE(Has(c.text, "frontend x"));
  EXPECT_TRUE(Has(c.text, "  server p0 10.0.0.1:8443 check port 8443\n\n"));
  EXPECT_FALSE(Has(c.text, "globex"));
  // The map holds the one good name and nothing else: one line, two words.
  EXPECT_EQ(c.names_map, "ok.example.com env_acme.prod\n");
}

TEST(HaproxyConfig, TheConfigDoesNotGrowWithNames) {
  msg::EdgeRoutes few = Routes(), many = Routes();
  for (int i = 0; i < 5000; ++i) {
    many.routes.push_back({"n" + std::to_string(i) + ".example.com", i % 2 ? "acme/prod" : "globex/prod"});
  }
  auto a = RenderHaproxyConfig(Opts(), few), b = RenderHaproxyConfig(Opts(), many);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(b.skipped, 0);
  size_t lines = 0;
  for (char ch : b.names_map) lines += ch == '\n';
  EXPECT_EQ(lines, 5003u);
  EXPECT_TRUE(Has(b.names_map, "\nn4999.example.com env_acme.prod\n"));
}

TEST(HaproxyConfig, TheMapIsSortedByNameWhateverTheOrderOfTheRoutes) {
  auto r = Routes();
  std::swap(r.routes[0], r.routes[2]);
  EXPECT_EQ(RenderHaproxyConfig(Opts(), r).names_map, RenderHaproxyConfig(Opts(), Routes()).names_map);
  EXPECT_EQ(RenderHaproxyConfig(Opts(), r).text, RenderHaproxyConfig(Opts(), Routes()).text);
}

TEST(HaproxyConfig, SameRoutesSameText) {
  EXPECT_EQ(RenderHaproxyConfig(Opts(), Routes()).text, RenderHaproxyConfig(Opts(), Routes()).text);
  EXPECT_EQ(RenderHaproxyConfig(Opts(), Routes()).names_map, RenderHaproxyConfig(Opts(), Routes()).names_map);
  auto r = Routes();
  r.proxies[0].endpoints.pop_back();
  EXPECT_NE(RenderHaproxyConfig(Opts(), r).text, RenderHaproxyConfig(Opts(), Routes()).text);
}

// Debian's HAProxy checks a rendered config with its map (hostile names
// included, left out), as rv-edge's HaproxyProcess does before installing one.
TEST(HaproxyConfig, HaproxyAcceptsTheRenderedConfigAndMap) {
  ASSERT_EQ(access("/usr/sbin/haproxy", X_OK), 0) << "haproxy is missing: scripts/install-deps";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rv-edgecfg-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto o = Opts();
  o.listen = "127.0.0.1";
  o.names_map = (dir / "names.map").string();
  auto r = Routes();
  r.routes.push_back({"evil.com x\n#", "acme/prod"});
  r.routes.push_back({"a.example.com", "acme/prod\nbackend y"});
  for (const auto& routes : {r, msg::EdgeRoutes{}}) {
    auto c = RenderHaproxyConfig(o, routes);
    std::ofstream(dir / "haproxy.cfg") << c.text;
    std::ofstream(dir / "names.map") << c.names_map;
    std::string check = "/usr/sbin/haproxy -c -q -f " + (dir / "haproxy.cfg").string() + " > " +
                        (dir / "check.out").string() + " 2>&1";
    int rc = system(check.c_str());
    std::ifstream out_file(dir / "check.out");
    std::string out((std::istreambuf_iterator<char>(out_file)), {});
    EXPECT_EQ(rc, 0) << out << "\n" << c.text << "\n" << c.names_map;
  }
  // The check reads the map: without it the same config is refused.
  fs::remove(dir / "names.map");
  EXPECT_NE(system(("/usr/sbin/haproxy -c -q -f " + (dir / "haproxy.cfg").string() + " >/dev/null 2>&1").c_str()), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rv::edge
