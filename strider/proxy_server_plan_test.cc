#include "strider/proxy_server_plan.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

// A backend with checks and its _body twin backend, as the renderer makes them.
std::string Cfg(const std::vector<std::pair<std::string, std::string>>& servers, const std::string& balance = "leastconn") {
  std::string c = "frontend ingress\n  bind :443\n\nbackend app_a\n  balance " + balance +
                  "\n  default-server check inter 250ms fall 2 rise 1\n";
  for (const auto& [n, a] : servers) c += "  server " + n + " " + a + "\n";
  c += "\nbackend app_a_body\n  balance leastconn\n";
  for (const auto& [n, a] : servers) c += "  server " + n + " " + a + " track app_a/" + n + "\n";
  return c;
}

struct Files {
  std::string cfg;
  std::vector<std::string> servers;
  ProxyServerFiles view() const { return {cfg, servers}; }
};

Files Of(const std::vector<std::pair<std::string, std::string>>& servers) {
  Files f{Cfg(servers), {}};
  for (const auto& [n, a] : servers) f.servers.push_back("app_a/" + n);
  return f;
}

const std::pair<std::string, std::string> r1{"r_1", "10.0.0.1:80"}, r2{"r_2", "10.0.0.2:80"}, r3{"r_3", "10.0.0.3:80"};

TEST(ProxyServerPlan, ANewReplicaIsAddedWithItsTwinAndTheReloadMayWait) {
  Files loaded = Of({r1, r2}), after = Of({r1, r2, r3});
  ProxyServerState st;
  auto p = PlanServerChanges(loaded.view(), after.view(), st, true);
  EXPECT_TRUE(p.runtime);
  EXPECT_TRUE(p.leaving.empty());
  ASSERT_EQ(p.to_add.size(), 1u);
  const auto& r = p.to_add.at("app_a/r_3");
  EXPECT_EQ(r.names, (std::vector<std::string>{"app_a/r_3", "app_a_body/r_3"}));
  EXPECT_EQ(r.cmds.front(), "add server app_a/r_3 10.0.0.3:80 check inter 250ms fall 2 rise 1");
  EXPECT_FALSE(p.settled);  // the worker has a server the loaded files lack: a reload later
  ApplyServerPlan(p, &st);
  EXPECT_EQ(st.added.count("app_a/r_3"), 1u);
  // The same files again: nothing more to send.
  auto again = PlanServerChanges(loaded.view(), after.view(), st, true);
  EXPECT_TRUE(again.runtime);
  EXPECT_TRUE(again.to_add.empty() && again.leaving.empty() && again.back.empty());
}

TEST(ProxyServerPlan, AReplicaThatLeftGoesOutOfRotationOnceAndComesBackByTheRuntimeApi) {
  Files loaded = Of({r1, r2}), without = Of({r1});
  ProxyServerState st;
  auto p = PlanServerChanges(loaded.view(), without.view(), st, true);
  EXPECT_TRUE(p.runtime);
  EXPECT_EQ(p.leaving, (std::vector<std::string>{"app_a/r_2"}));
  EXPECT_FALSE(p.settled);
  ApplyServerPlan(p, &st);
  EXPECT_TRUE(PlanServerChanges(loaded.view(), without.view(), st, true).leaving.empty());  // once
  auto back = PlanServerChanges(loaded.view(), loaded.view(), st, true);
  EXPECT_EQ(back.back, (std::vector<std::string>{"app_a/r_2"}));
  EXPECT_TRUE(back.settled);  // the files are the loaded ones again: the waiting reload is dropped
  ApplyServerPlan(back, &st);
  EXPECT_TRUE(st.out_of_rotation.empty());
}

// A server added since the last reload that leaves and comes back keeps the
// names it was added with (its twin checks on its own: it does not follow).
TEST(ProxyServerPlan, AnAddedReplicaThatLeavesAndReturnsGoesWithItsTwin) {
  Files loaded = Of({r1}), with = Of({r1, r3});
  ProxyServerState st;
  ApplyServerPlan(PlanServerChanges(loaded.view(), with.view(), st, true), &st);
  auto leave = PlanServerChanges(loaded.view(), loaded.view(), st, true);
  EXPECT_EQ(leave.leaving, (std::vector<std::string>{"app_a/r_3"}));
  EXPECT_FALSE(leave.settled);  // the worker still has it, in maintenance
  ApplyServerPlan(leave, &st);
  auto back = PlanServerChanges(loaded.view(), with.view(), st, true);
  EXPECT_TRUE(back.runtime);
  EXPECT_TRUE(back.to_add.empty());
  EXPECT_EQ(back.back, (std::vector<std::string>{"app_a/r_3"}));
  EXPECT_EQ(st.added.at("app_a/r_3").names, (std::vector<std::string>{"app_a/r_3", "app_a_body/r_3"}));
}

TEST(ProxyServerPlan, AnAddedReplicaBackAtANewAddressIsTheReloads) {
  Files loaded = Of({r1}), with = Of({r1, r3}), moved = Of({r1, {"r_3", "10.0.0.9:80"}});
  ProxyServerState st;
  ApplyServerPlan(PlanServerChanges(loaded.view(), with.view(), st, true), &st);
  auto p = PlanServerChanges(loaded.view(), moved.view(), st, true);
  EXPECT_FALSE(p.runtime);
  EXPECT_TRUE(p.to_add.empty());
}

TEST(ProxyServerPlan, AnyOtherChangeIsTheReloadsButALeavingReplicaStillLeavesAtOnce) {
  Files loaded = Of({r1, r2});
  Files other{Cfg({r1}, "roundrobin"), {"app_a/r_1"}};
  auto p = PlanServerChanges(loaded.view(), other.view(), {}, true);
  EXPECT_FALSE(p.runtime);
  EXPECT_EQ(p.leaving, (std::vector<std::string>{"app_a/r_2"}));
  EXPECT_TRUE(p.to_add.empty() && p.back.empty());
}

TEST(ProxyServerPlan, NothingByTheRuntimeApiWhileAReloadIsInFlightOrBeforeTheFirstLoad) {
  Files loaded = Of({r1}), with = Of({r1, r3});
  EXPECT_FALSE(PlanServerChanges(loaded.view(), with.view(), {}, false).runtime);
  Files none{"", {}};
  auto first = PlanServerChanges(none.view(), with.view(), {}, true);
  EXPECT_FALSE(first.runtime);
  EXPECT_TRUE(first.to_add.empty());
}

TEST(ProxyServerPlan, AServerTheCliCannotTakeIsTheReloads) {
  Files loaded = Of({r1}), bad = Of({r1, {"r_3", "10.0.0.3:80;shutdown"}});
  auto p = PlanServerChanges(loaded.view(), bad.view(), {}, true);
  EXPECT_FALSE(p.runtime);
  EXPECT_TRUE(p.to_add.empty());
}

}  // namespace
}  // namespace rv::strider
