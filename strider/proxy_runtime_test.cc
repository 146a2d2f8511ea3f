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
  EXPECT_EQ(ProxyMaintCommand(43, "app_a/r_web-1_1"), "@!43 set server app_a/r_web-1_1 state maint");
}

TEST(ProxyRuntime, RefusesANameThatCouldBreakTheCommand) {
  EXPECT_EQ(ProxyMaintCommand(43, "app_a/r_web 1; shutdown"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "app_a/r;x"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "app_a"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "/r"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "a/"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "a/b/c"), "");
  EXPECT_EQ(ProxyMaintCommand(0, "a/b"), "");
  EXPECT_EQ(ProxyMaintCommand(43, "a/b\n@1 shutdown"), "");
}

}  // namespace
}  // namespace rv::strider
