#include "strider/proxy_runtime.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

// HAProxy 2.6's `show proc` on the master CLI, after reloads: a current
// worker and an old one still finishing its connections.
constexpr char kShowProc[] =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "1               master          12 [failed: 0]  0d00h01m15s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "43              worker          0               0d00h00m50s     2.6.12-1+deb12u4\n"
    "# old workers\n"
    "37              worker          1               0d00h00m52s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";

TEST(ProxyRuntime, ReadsTheMastersReloadCount) {
  EXPECT_EQ(ProxyMasterReloads(kShowProc), 12);
  EXPECT_EQ(ProxyMasterReloads(""), -1);
  EXPECT_EQ(ProxyMasterReloads("Unknown command.\n"), -1);
}

TEST(ProxyRuntime, FindsEveryWorkerCurrentAndOld) {
  EXPECT_EQ(ProxyWorkerPids(kShowProc), (std::vector<int64_t>{43, 37}));
}

TEST(ProxyRuntime, TheCurrentWorkerIsTheOneThatSawNoReload) {
  EXPECT_EQ(ProxyCurrentWorker(kShowProc), 43);
  EXPECT_EQ(ProxyCurrentWorker("# old workers\n37 worker 1 0d 2.6\n"), -1);
  EXPECT_EQ(ProxyCurrentWorker("Unknown command.\n"), -1);
  EXPECT_EQ(ProxyCurrentWorker("-5 worker 0\n"), -1);
}

TEST(ProxyRuntime, IgnoresAnythingThatIsNotAWorkerLine) {
  EXPECT_TRUE(ProxyWorkerPids("").empty());
  EXPECT_TRUE(ProxyWorkerPids("Unknown command.\n").empty());
  EXPECT_TRUE(ProxyWorkerPids("x worker\n-5 worker 0\n99999999999999999999 worker 0\n").empty());
}

TEST(ProxyRuntime, NamesTheServersThatLeftTheRoutes) {
  std::vector<std::string> before = {"app_a/r_web-1_1", "app_a/r_web-2_2", "app_b/r_api-1_3"};
  std::vector<std::string> after = {"app_a/r_web-2_2", "app_b/r_api-1_3", "app_a/r_web-4_4"};
  EXPECT_EQ(ProxyServersGone(before, after), (std::vector<std::string>{"app_a/r_web-1_1"}));
  EXPECT_TRUE(ProxyServersGone(after, after).empty());
  EXPECT_TRUE(ProxyServersGone({}, after).empty());
  EXPECT_EQ(ProxyServersGone(before, {}), before);
}

TEST(ProxyRuntime, PutsAServerInMaintenanceInOneWorker) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kMaint),
            "@!43 set server app_a/r_web-1_1 state maint");
}

TEST(ProxyRuntime, BringsAServerBackUpInOneWorker) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kReady),
            "@!43 set server app_a/r_web-1_1 state ready");
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kHealthUp),
            "@!43 set server app_a/r_web-1_1 health up");
}

TEST(ProxyRuntime, RefusesANameThatCouldBreakTheCommand) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web 1; shutdown", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r;x", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "app_a", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "/r", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/b/c", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(0, "a/b", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/b\n@1 shutdown", ProxyServerChange::kMaint), "");
}

TEST(ProxyRuntime, AConfigLessOnlyTheServersThatLeftDropsNothingElse) {
  const std::string before =
      "frontend ingress\n  bind :443\n\nbackend app_a\n  balance leastconn\n  server r_1 10.0.0.1:80\n"
      "  server r_2 10.0.0.2:80\n\nbackend app_a_body\n  server r_2 10.0.0.2:80 track app_a/r_2\n";
  const std::string after =
      "frontend ingress\n  bind :443\n\nbackend app_a\n  balance leastconn\n  server r_1 10.0.0.1:80\n"
      "\nbackend app_a_body\n";
  // app_a_body's r_2 tracks app_a/r_2: it follows its state and leaves with it.
  EXPECT_TRUE(ProxyConfigOnlyDropsServers(before, after, {"app_a/r_2"}));
  EXPECT_TRUE(ProxyConfigOnlyDropsServers(before, before, {}));
}

TEST(ProxyRuntime, AConfigThatChangedMoreThanItsServersIsNotOnlyADrop) {
  const std::string before = "backend app_a\n  server r_1 10.0.0.1:80\n  server r_2 10.0.0.2:80\n";
  // r_2 left, but r_1 moved too.
  EXPECT_FALSE(ProxyConfigOnlyDropsServers(before, "backend app_a\n  server r_1 10.0.0.9:80\n", {"app_a/r_2"}));
  // The server of another backend by the same name stays.
  EXPECT_FALSE(ProxyConfigOnlyDropsServers(before, "backend app_a\n  server r_1 10.0.0.1:80\n", {"app_b/r_2"}));
  // A line that only mentions the server is no server line.
  EXPECT_FALSE(ProxyConfigOnlyDropsServers("frontend f\n  server r_2 x\n", "frontend f\n", {"f/r_2"}));
  // An added server is not a drop.
  EXPECT_FALSE(ProxyConfigOnlyDropsServers(before, before + "  server r_3 10.0.0.3:80\n", {}));
}

TEST(ProxyRuntime, AMapChangeIsDelForAKeyGoneSetForAValueChangedAndAddForANewKey) {
  auto cmds = ProxyMapCommands(43, "/run/proxy/rates.map", "a.example 50\nb.example 100\nc.example 7\n",
                               "b.example 200\nc.example 7\nd.example 30\n");
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_EQ(*cmds, (std::vector<std::string>{
                       "@!43 del map /run/proxy/rates.map a.example",
                       "@!43 set map /run/proxy/rates.map b.example 200",
                       "@!43 add map /run/proxy/rates.map d.example 30",
                   }));
}

TEST(ProxyRuntime, TheSameEntriesNeedNoCommand) {
  auto cmds = ProxyMapCommands(43, "/run/proxy/bodies.map", "a.example 5\nb.example 6\n", "\nb.example 6\na.example 5\n");
  ASSERT_TRUE(cmds.ok());
  EXPECT_TRUE(cmds->empty());
  auto none = ProxyMapCommands(43, "/run/proxy/bodies.map", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ProxyRuntime, RefusesAMapLineOrPathThatCouldBreakACommand) {
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example 5; reload\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "A.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example -5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "a;b 5\n", "").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m map", "", "a.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "run/proxy/m.map", "", "a.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(0, "/run/proxy/m.map", "", "a.example 5\n").ok());
}

}  // namespace
}  // namespace rv::strider
