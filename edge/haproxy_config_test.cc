#include "edge/haproxy_config.h"

#include <gtest/gtest.h>

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
  return o;
}

bool Has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(HaproxyConfig, RoutesHttpsBySniToTheEnvsProxiesWithProxyProtocolV2) {
  auto c = RenderHaproxyConfig(Opts(), Routes());
  EXPECT_EQ(c.skipped, 0);
  const auto& t = c.text;
  EXPECT_TRUE(Has(t, "frontend https_in\n  mode tcp\n  bind 10.93.1.1:7441\n  tcp-request inspect-delay 5s\n"));
  EXPECT_TRUE(Has(t, "  use_backend env_acme.prod if { req.ssl_sni -i shop.example.com web.prod.acme.pod.test }\n"));
  EXPECT_TRUE(Has(t, "  use_backend env_globex.prod if { req.ssl_sni -i web.prod.globex.pod.test }\n"));
  EXPECT_TRUE(Has(t, "backend env_acme.prod\n  mode tcp\n"));
  EXPECT_TRUE(Has(t, "  default-server send-proxy-v2 check"));
  EXPECT_TRUE(Has(t, "  server p0 10.93.1.11:8443\n  server p1 10.93.1.12:8443\n"));
  EXPECT_TRUE(Has(t, "backend env_globex.prod\n"));
  EXPECT_TRUE(Has(t, "  server p0 10.93.1.13:8444\n"));
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
  EXPECT_TRUE(Has(t, "  acl known_sni req.ssl_sni -i shop.example.com web.prod.acme.pod.test web.prod.globex.pod.test\n"));
  auto reject = t.find("  tcp-request content reject if tls_hello !known_sni\n");
  auto accept = t.find("  tcp-request content accept if tls_hello\n");
  auto last = t.find("  tcp-request content reject\n");
  ASSERT_NE(reject, std::string::npos);
  ASSERT_NE(accept, std::string::npos);
  ASSERT_NE(last, std::string::npos);
  EXPECT_LT(reject, accept);
  EXPECT_LT(accept, last);
}

TEST(HaproxyConfig, HttpRedirectsKnownNamesAndAnswers404ToTheRest) {
  auto t = RenderHaproxyConfig(Opts(), Routes()).text;
  EXPECT_TRUE(Has(t, "frontend http_in\n  mode http\n  bind 10.93.1.1:7440\n"));
  EXPECT_TRUE(Has(t, "  acl known_host var(txn.host) -m str shop.example.com web.prod.acme.pod.test"));
  EXPECT_TRUE(Has(t, "  http-request return status 404 content-type \"text/html; charset=utf-8\" string \""));
  EXPECT_TRUE(Has(t, "No app answers at this name"));
  EXPECT_TRUE(Has(t, "\" if !known_host\n"));
  EXPECT_TRUE(Has(t, "  http-request redirect code 301 location https://%[var(txn.host)]:7441%[url]\n"));
  auto o = Opts();
  o.public_https_port = 443;
  EXPECT_TRUE(Has(RenderHaproxyConfig(o, Routes()).text, "location https://%[var(txn.host)]%[url]\n"));
}

TEST(HaproxyConfig, NoNamesMeansEverythingIsRefusedOr404) {
  auto t = RenderHaproxyConfig(Opts(), msg::EdgeRoutes{}).text;
  EXPECT_TRUE(Has(t, "  acl known_sni always_false\n"));
  EXPECT_TRUE(Has(t, "  acl known_host always_false\n"));
  EXPECT_FALSE(Has(t, "use_backend"));
  EXPECT_FALSE(Has(t, "\nbackend "));
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
  auto c = RenderHaproxyConfig(Opts(), r);
  EXPECT_EQ(c.skipped, 8);
  EXPECT_FALSE(Has(c.text, "evil"));
  EXPECT_FALSE(Has(c.text, "6.6.6.6"));
  EXPECT_FALSE(Has(c.text, "frontend x"));
  EXPECT_TRUE(Has(c.text, "  server p0 10.0.0.1:8443\n\n"));
}

TEST(HaproxyConfig, ManyNamesAreSplitOverShortLines) {
  msg::EdgeRoutes r;
  for (int i = 0; i < 100; ++i) r.routes.push_back({"n" + std::to_string(i) + ".example.com", "acme/prod"});
  auto t = RenderHaproxyConfig(Opts(), r).text;
  size_t lines = 0;
  for (size_t p = t.find("acl known_sni "); p != std::string::npos; p = t.find("acl known_sni ", p + 1)) ++lines;
  EXPECT_EQ(lines, 7u);  // 16 names a line
  size_t start = 0;
  while (start < t.size()) {
    size_t end = t.find('\n', start);
    if (end == std::string::npos) end = t.size();
    EXPECT_LT(end - start, 2000u);
    start = end + 1;
  }
}

TEST(HaproxyConfig, SameRoutesSameText) {
  EXPECT_EQ(RenderHaproxyConfig(Opts(), Routes()).text, RenderHaproxyConfig(Opts(), Routes()).text);
  auto r = Routes();
  r.proxies[0].endpoints.pop_back();
  EXPECT_NE(RenderHaproxyConfig(Opts(), r).text, RenderHaproxyConfig(Opts(), Routes()).text);
}

}  // namespace
}  // namespace rv::edge
