#include "strider/proxy_reload.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

ProxyNotice At(int64_t ms) { return ProxyNotice{ms, ms + 1000}; }

TEST(ProxyReload, IsLiveUntilTheFilesChange) {
  ProxyReload r;
  EXPECT_TRUE(r.live());
  EXPECT_FALSE(r.ShouldSend(0));
  r.Changed(At(100));
  EXPECT_FALSE(r.live());
  EXPECT_TRUE(r.ShouldSend(0));
}

TEST(ProxyReload, IsTakenOnceTheMastersCountMovesAndReportsItsNotice) {
  ProxyReload r;
  r.Changed(At(100));
  r.Sent(3, 110);
  EXPECT_FALSE(r.ShouldSend(0));
  EXPECT_FALSE(r.Observe(3, 150).taken);
  EXPECT_FALSE(r.Observe(-1, 200).taken);  // re-executing: no answer
  auto t = r.Observe(4, 400);
  EXPECT_TRUE(t.taken);
  EXPECT_EQ(t.notice.at_ms, 100);
  EXPECT_EQ(t.notice.sauron_ms, 1100);
  EXPECT_TRUE(r.live());
}

TEST(ProxyReload, SendsNoSecondReloadWhileOneIsInFlight) {
  ProxyReload r;
  r.Changed(At(100));
  r.Sent(3, 110);
  for (int64_t now = 150; now < 110 + ProxyReload::kLostAfterMs; now += 50) {
    EXPECT_FALSE(r.Observe(-1, now).taken);  // a slow re-execution, not a lost reload
    EXPECT_FALSE(r.ShouldSend(0));
  }
  EXPECT_TRUE(r.Observe(4, 5000).taken);
}

TEST(ProxyReload, ReloadsAgainForFilesChangedWhileOneWasInFlight) {
  ProxyReload r;
  r.Changed(At(100));
  r.Sent(3, 110);
  r.Changed(At(300));  // the master may have read the files before this
  EXPECT_FALSE(r.ShouldSend(0));
  auto t = r.Observe(4, 500);
  EXPECT_TRUE(t.taken);
  EXPECT_EQ(t.notice.at_ms, 100);  // the notice that came later waits for its own reload
  EXPECT_FALSE(r.live());
  EXPECT_TRUE(r.ShouldSend(0));
  r.Sent(4, 510);
  t = r.Observe(5, 700);
  EXPECT_TRUE(t.taken);
  EXPECT_EQ(t.notice.at_ms, 300);
  EXPECT_TRUE(r.live());
}

TEST(ProxyReload, ReportsTheOldestOfTheNoticesOneReloadApplies) {
  ProxyReload r;
  r.Changed(At(200));
  r.Changed({});  // a fallback refresh carries no notice
  r.Changed(At(150));
  r.Sent(0, 300);
  EXPECT_EQ(r.Observe(1, 400).notice.at_ms, 150);
}

TEST(ProxyReload, SendsAgainAReloadTheMasterDidNotTake) {
  ProxyReload r;
  r.Changed(At(100));
  r.Sent(3, 110);
  EXPECT_FALSE(r.Observe(3, 110 + ProxyReload::kLostAfterMs - 1).taken);
  EXPECT_FALSE(r.ShouldSend(0));
  EXPECT_FALSE(r.Observe(3, 110 + ProxyReload::kLostAfterMs).taken);
  EXPECT_TRUE(r.ShouldSend(0));
  r.Sent(3, 2200);
  auto t = r.Observe(4, 2300);
  EXPECT_TRUE(t.taken);
  EXPECT_EQ(t.notice.at_ms, 100);  // still timed from the first notice
}

TEST(ProxyReload, SendsAgainWhenTheMasterRestartedWithALowerCount) {
  ProxyReload r;
  r.Changed(At(100));
  r.Sent(7, 110);
  EXPECT_FALSE(r.Observe(0, 200).taken);  // a new container: its master counts from 0
  EXPECT_TRUE(r.ShouldSend(0));
}

TEST(ProxyReload, LetsAChangeTheRuntimeApiAppliedWaitForTheNextOne) {
  ProxyReload r;
  r.AppliedByRuntime(1000, 2000);  // a replica left and is in maintenance already
  EXPECT_FALSE(r.ShouldSend(1000));
  EXPECT_FALSE(r.live());
  EXPECT_TRUE(r.RuntimeOnly());
  r.Changed(At(1500));  // a new replica: one reload carries both, now
  EXPECT_FALSE(r.RuntimeOnly());
  EXPECT_TRUE(r.ShouldSend(1500));
  r.Sent(2, 1500);
  EXPECT_EQ(r.Observe(3, 1700).notice.at_ms, 1500);
  EXPECT_TRUE(r.live());
}

TEST(ProxyReload, SendsAWaitingReloadOnceTheRuntimeChangesPauseForTheWait) {
  ProxyReload r;
  r.AppliedByRuntime(1000, 2000);
  EXPECT_FALSE(r.ShouldSend(2999));
  r.AppliedByRuntime(2500, 2000);  // the next step of a deploy: it waits for that one too
  EXPECT_FALSE(r.ShouldSend(4499));
  EXPECT_TRUE(r.ShouldSend(4500));
}

TEST(ProxyReload, WaitsNoLongerThanTheCapAfterTheFirstRuntimeChange) {
  ProxyReload r;
  r.AppliedByRuntime(1000, 2000);
  for (int64_t t = 2000; t < 20000; t += 1000) r.AppliedByRuntime(t, 2000);
  EXPECT_TRUE(r.ShouldSend(1000 + ProxyReload::kMaxRuntimeWaitMs));
}

TEST(ProxyReload, DropsAWaitingReloadOnceTheRuntimeChangesAreUndone) {
  ProxyReload r;
  r.AppliedByRuntime(1000, 2000);  // a replica left
  r.Settled();                     // and came back, brought back by the runtime API
  EXPECT_TRUE(r.live());
  EXPECT_FALSE(r.ShouldSend(3000));
}

TEST(ProxyReload, KeepsAReloadThatCarriesMoreThanRuntimeChanges) {
  ProxyReload r;
  r.Changed(At(100));
  r.AppliedByRuntime(150, 2000);
  EXPECT_FALSE(r.RuntimeOnly());
  r.Settled();
  EXPECT_TRUE(r.ShouldSend(0));
  r.Sent(1, 200);
  EXPECT_FALSE(r.RuntimeOnly());  // in flight: the workers will change under the runtime API
  r.Settled();
  EXPECT_TRUE(r.in_flight());
}

TEST(ProxyReload, IgnoresACountWhenNothingIsInFlight) {
  ProxyReload r;
  EXPECT_FALSE(r.Observe(9, 100).taken);
  EXPECT_TRUE(r.live());
}

}  // namespace
}  // namespace rv::strider
