#include "sauron/proxy_views.h"

#include <gtest/gtest.h>

namespace rv::sauron {
namespace {

msg::JobRecord Job(const std::string& id, const std::string& kind, const std::string& env, const std::string& host,
                   const std::string& state = "placed", const std::string& run = "running", int port = 8443) {
  msg::JobRecord j;
  j.spec.id = id;
  j.spec.kind = kind;
  j.spec.env = env;
  j.spec.port = port;
  j.host_id = host;
  j.state = state;
  j.run_state = run;
  return j;
}

msg::HostRecord Host(const std::string& id, const std::string& addr) {
  msg::HostRecord h;
  h.id = id;
  h.address = addr;
  return h;
}

DomainRow Row(const std::string& name, const std::string& env, const std::string& cert = "",
              int64_t not_after = 0, bool custom = false) {
  DomainRow r;
  r.name = name;
  r.env = env;
  r.app = env + "/web";
  r.cert_pem = cert;
  r.not_after_ms = not_after;
  r.custom = custom;
  return r;
}

TEST(ProxyViews, OnlyAHostRunningAProxyOfTheEnvGetsItsCertificates) {
  std::vector<msg::JobRecord> placed = {Job("p1", "proxy", "acme/prod", "h1"), Job("w1", "deploy", "acme/prod", "h2"),
                                        Job("p2", "proxy", "globex/prod", "h3")};
  EXPECT_EQ(ProxyCertsRefusal("h1", "acme/prod", placed), std::nullopt);
  EXPECT_NE(ProxyCertsRefusal("h2", "acme/prod", placed), std::nullopt);  // an app replica, not a proxy
  EXPECT_NE(ProxyCertsRefusal("h3", "acme/prod", placed), std::nullopt);  // another env's proxy
  EXPECT_NE(ProxyCertsRefusal("h1", "globex/prod", placed), std::nullopt);
  EXPECT_NE(ProxyCertsRefusal("h1", "", placed), std::nullopt);
  // A proxy job that is not placed (awarded, stopped) does not count.
  std::vector<msg::JobRecord> awarded = {Job("p1", "proxy", "acme/prod", "h1", "awarded")};
  EXPECT_NE(ProxyCertsRefusal("h1", "acme/prod", awarded), std::nullopt);
}

TEST(ProxyViews, EdgeEndpointsAreRunningProxiesAtTheirHostsAddress) {
  std::vector<DomainRow> names = {Row("b.example.com", "acme/prod"), Row("a.example.com", "acme/prod"),
                                  Row("x.example.com", "globex/prod")};
  std::vector<msg::JobRecord> placed = {
      Job("p1", "proxy", "acme/prod", "h1"),
      Job("p2", "proxy", "acme/prod", "h2"),
      Job("p3", "proxy", "acme/prod", "h3", "placed", "starting"),  // not running yet
      Job("w1", "deploy", "acme/prod", "h1", "placed", "running", 5000),
      Job("p4", "proxy", "globex/prod", "h9"),  // unknown host
  };
  auto r = BuildEdgeRoutes(names, placed, {Host("h1", "10.1.0.2"), Host("h2", "10.1.0.3"), Host("h3", "10.1.0.4")});
  ASSERT_EQ(r.routes.size(), 3u);
  EXPECT_EQ(r.routes[0].name, "a.example.com");
  EXPECT_EQ(r.routes[2].env, "globex/prod");
  ASSERT_EQ(r.proxies.size(), 1u);
  EXPECT_EQ(r.proxies[0].env, "acme/prod");
  EXPECT_EQ(r.proxies[0].endpoints, (std::vector<std::string>{"10.1.0.2:8443", "10.1.0.3:8443"}));
}

TEST(ProxyViews, EdgeVersionChangesExactlyWithTheContent) {
  std::vector<DomainRow> names = {Row("a.example.com", "acme/prod")};
  std::vector<msg::JobRecord> placed = {Job("p1", "proxy", "acme/prod", "h1")};
  std::vector<msg::HostRecord> hosts = {Host("h1", "10.1.0.2"), Host("h2", "10.1.0.3")};
  auto v1 = BuildEdgeRoutes(names, placed, hosts).version;
  EXPECT_EQ(BuildEdgeRoutes(names, placed, hosts).version, v1);
  EXPECT_GE(v1, 0);
  auto moved = placed;
  moved[0].host_id = "h2";
  EXPECT_NE(BuildEdgeRoutes(names, moved, hosts).version, v1);
  auto more = names;
  more.push_back(Row("b.example.com", "acme/prod"));
  EXPECT_NE(BuildEdgeRoutes(more, placed, hosts).version, v1);
  auto gone = placed;
  gone[0].run_state = "exited";
  EXPECT_NE(BuildEdgeRoutes(names, gone, hosts).version, v1);
}

TEST(ProxyViews, CertsVersionChangesWithACertificate) {
  std::vector<DomainRow> a = {Row("a.example.com", "e/x", "CERT1", 10)};
  auto b = a;
  b[0].cert_pem = "CERT2";
  EXPECT_EQ(CertsVersion(a), CertsVersion(a));
  EXPECT_NE(CertsVersion(a), CertsVersion(b));
  EXPECT_NE(CertsVersion(a), CertsVersion({}));
}

TEST(ProxyViews, PodCaCertificatesAreDueWithin30DaysOwnOnesNever) {
  constexpr int64_t kDay = 86400000, now = 1000 * kDay;
  EXPECT_TRUE(CertDue(Row("a.b", "e/x"), now, false));                         // none yet
  EXPECT_FALSE(CertDue(Row("a.b", "e/x", "C", now + 60 * kDay), now, false));  // plenty left
  EXPECT_TRUE(CertDue(Row("a.b", "e/x", "C", now + 29 * kDay), now, false));
  EXPECT_TRUE(CertDue(Row("a.b", "e/x", "C", now + 60 * kDay), now, true));    // forced
  EXPECT_FALSE(CertDue(Row("a.b", "e/x", "C", now + 1 * kDay, true), now, true));  // the operator's own
}

}  // namespace
}  // namespace rv::sauron
