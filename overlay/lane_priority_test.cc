#include "overlay/lane_priority.h"

#include <gtest/gtest.h>

namespace rv::overlay {
namespace {

using Change = LanePriority::Change;
constexpr int64_t kWindow = 100'000;

// One window in which the lane was busy for busy_us; returns the verdict.
Change Window(LanePriority& p, int64_t& now, int64_t busy_us) {
  p.AddBusy(busy_us);
  now += kWindow;
  return p.Tick(now);
}

TEST(LanePriority, AnIdleLaneStaysRealtime) {
  int64_t now = 0;
  LanePriority p({}, true, now);
  for (int i = 0; i < 10; i++) EXPECT_EQ(Window(p, now, 1'000), Change::kNone);
  EXPECT_TRUE(p.realtime());
  EXPECT_EQ(p.demotions(), 0u);
}

TEST(LanePriority, NothingIsJudgedBeforeAWindowCloses) {
  int64_t now = 0;
  LanePriority p({}, true, now);
  p.AddBusy(kWindow);  // busy all along, but the window is still open
  EXPECT_EQ(p.Tick(kWindow - 1), Change::kNone);
  EXPECT_TRUE(p.realtime());
  EXPECT_EQ(p.Tick(kWindow + 1), Change::kToNormal);
}

TEST(LanePriority, ABusyLaneDropsToFairAndComesBackOnlyWhenQuiet) {
  int64_t now = 0;
  LanePriority p({}, true, now);
  EXPECT_EQ(Window(p, now, 90'000), Change::kToNormal);  // a flood or a bulk transfer
  EXPECT_FALSE(p.realtime());
  EXPECT_EQ(p.demotions(), 1u);
  // Between the thresholds (20%..50%): no flapping either way.
  EXPECT_EQ(Window(p, now, 30'000), Change::kNone);
  EXPECT_FALSE(p.realtime());
  EXPECT_EQ(Window(p, now, 5'000), Change::kToRealtime);
  EXPECT_TRUE(p.realtime());
  EXPECT_EQ(Window(p, now, 30'000), Change::kNone);
  EXPECT_TRUE(p.realtime());
}

TEST(LanePriority, ALaneThatStartsFairIsPromotedWhenQuiet) {
  int64_t now = 0;
  LanePriority p({}, false, now);
  EXPECT_EQ(Window(p, now, 0), Change::kToRealtime);
  EXPECT_EQ(p.demotions(), 0u);
}

TEST(LanePriority, TheVerdictUsesTheWindowActuallyElapsed) {
  // A lane woken late (epoll_wait's timeout, a long batch) closes a longer
  // window: 60 ms busy in 200 ms is 30%, not a demotion.
  LanePriority p({}, true, 0);
  p.AddBusy(60'000);
  EXPECT_EQ(p.Tick(200'000), Change::kNone);
  EXPECT_TRUE(p.realtime());
}

}  // namespace
}  // namespace rv::overlay
