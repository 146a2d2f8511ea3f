#include "sauron/proxy_routes.h"

#include <gtest/gtest.h>

#include "sauron/proxy_test_jobs.h"

namespace rv::sauron {
namespace {

using testing::PlacedJob;

std::vector<msg::OverlayRoute> Routes() {
  return {{"10.240.1.2", "h1", "p1", 1}, {"10.240.1.3", "h1", "a", 1}, {"10.240.1.4", "h2", "b", 1},
          {"10.240.1.5", "h3", "c", 1}};
}

TEST(ProxyRoutes, RefusesAHostWithoutAProxyOfTheEnv) {
  auto r = ProxyRoutesFor("h2", "acme/prod", {PlacedJob("p1", "h1", "proxy"), PlacedJob("a", "h2")}, Routes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDenied);
  // A proxy of another env does not open this one.
  auto other = ProxyRoutesFor("h1", "acme/prod", {PlacedJob("p1", "h1", "proxy", "running", "evil/prod")}, Routes());
  EXPECT_FALSE(other.ok());
}

TEST(ProxyRoutes, ListsOnlyRunningWebReplicasWithAnAddress) {
  auto worker = PlacedJob("w", "h2");
  worker.spec.config["RV_PROCESS_TYPE"] = "worker";
  auto other_env = PlacedJob("x", "h2", "deploy", "running", "other/prod");
  auto r = ProxyRoutesFor("h1", "acme/prod",
                          {PlacedJob("p1", "h1", "proxy"), PlacedJob("c", "h3"), PlacedJob("a", "h1"),
                           PlacedJob("b", "h2", "deploy", "unhealthy"), PlacedJob("noaddr", "h2"), worker, other_env},
                          Routes());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->self_addr, "10.240.1.2");
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps[0].app, "acme/prod/web1");
  ASSERT_EQ(r->apps[0].backends.size(), 2u);
  EXPECT_EQ(r->apps[0].backends[0].job_id, "a");
  EXPECT_EQ(r->apps[0].backends[0].addr, "10.240.1.3");
  EXPECT_EQ(r->apps[0].backends[0].port, 8080);
  EXPECT_EQ(r->apps[0].backends[1].job_id, "c");
}

TEST(ProxyRoutes, PeersAreTheOtherRunningProxyReplicasIngress) {
  std::vector<msg::HostRecord> hosts(3);
  hosts[0].id = "h1", hosts[0].address = "10.0.0.1";
  hosts[1].id = "h2", hosts[1].address = "10.0.0.2";
  hosts[2].id = "h3", hosts[2].address = "10.0.0.3";
  auto down = PlacedJob("p3", "h3", "proxy", "exited");
  auto r = ProxyRoutesFor("h1", "acme/prod", {PlacedJob("p1", "h1", "proxy"), PlacedJob("p2", "h2", "proxy"), down},
                          Routes(), hosts);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->peers.size(), 1u);
  EXPECT_EQ(r->peers[0], "10.0.0.2:20443");
}

TEST(ProxyRoutes, LimitsComeFromTheEnvsPlainConfigAndBadValuesAreIgnored) {
  std::vector<msg::JobRecord> jobs{PlacedJob("p1", "h1", "proxy"), PlacedJob("a", "h1")};
  auto r = ProxyRoutesFor("h1", "acme/prod", jobs, Routes(), {},
                          {{"ROUTER_RATE_LIMIT", "20"}, {"ROUTER_MAX_BODY", "1000"}, {"ROUTER_MAX_CONNS", "-5"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps[0].rate_limit, 20);
  EXPECT_EQ(r->apps[0].body_limit, 1000);
  EXPECT_EQ(r->conn_limit, 0);
  auto none = ProxyRoutesFor("h1", "acme/prod", jobs, Routes(), {}, {{"ROUTER_RATE_LIMIT", "1e9"}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->apps[0].rate_limit, 0);
  EXPECT_NE(none->version, r->version);
}

TEST(ProxyRoutes, AnAppsOwnLimitVarsOverrideTheEnvsForThatAppOnly) {
  auto api = PlacedJob("b", "h2");
  api.spec.app = "api-v2";
  std::vector<msg::JobRecord> jobs{PlacedJob("p1", "h1", "proxy"), PlacedJob("a", "h1"), api};
  std::map<std::string, std::string> cfg{{"ROUTER_RATE_LIMIT", "20"},
                                         {"ROUTER_MAX_BODY", "1000"},
                                         {"ROUTER_RATE_LIMIT_API_V2", "5"},
                                         {"ROUTER_MAX_BODY_API_V2", "nonsense"}};
  auto r = ProxyRoutesFor("h1", "acme/prod", jobs, Routes(), {}, cfg);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->apps.size(), 2u);
  std::map<std::string, msg::ProxyApp> by;
  for (const auto& a : r->apps) by[a.app] = a;
  EXPECT_EQ(by.at("acme/prod/api-v2").rate_limit, 5);
  EXPECT_EQ(by.at("acme/prod/api-v2").body_limit, 1000);  // not a number: the env's
  EXPECT_EQ(by.at("acme/prod/" + jobs[1].spec.app).rate_limit, 20);
  cfg["ROUTER_RATE_LIMIT_API_V2"] = "6";
  auto r2 = ProxyRoutesFor("h1", "acme/prod", jobs, Routes(), {}, cfg);
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->version, r->version);
}

TEST(ProxyRoutes, IgnoresAnAddressOfAnOlderAttempt) {
  auto moved = PlacedJob("a", "h2");
  moved.attempt = 2;
  auto r = ProxyRoutesFor("h1", "acme/prod", {PlacedJob("p1", "h1", "proxy"), moved}, Routes());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->apps.empty());
}

TEST(ProxyRoutes, VersionChangesWithContentOnly) {
  std::vector<msg::JobRecord> jobs{PlacedJob("p1", "h1", "proxy"), PlacedJob("a", "h1"), PlacedJob("b", "h2")};
  auto v1 = ProxyRoutesFor("h1", "acme/prod", jobs, Routes());
  auto v2 = ProxyRoutesFor("h1", "acme/prod", jobs, Routes());
  jobs[2].run_state = "exited";
  auto v3 = ProxyRoutesFor("h1", "acme/prod", jobs, Routes());
  ASSERT_TRUE(v1.ok() && v2.ok() && v3.ok());
  EXPECT_EQ(v1->version, v2->version);
  EXPECT_NE(v1->version, v3->version);
}

}  // namespace
}  // namespace rv::sauron
