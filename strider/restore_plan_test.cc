#include "strider/restore_plan.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

JournalEntry E(const std::string& id, int64_t attempt, int priority = 0) {
  JournalEntry e;
  e.spec.id = id;
  e.spec.priority = priority;
  e.attempt = attempt;
  return e;
}

msg::JobRecord K(const std::string& id, int64_t attempt) {
  msg::JobRecord r;
  r.spec.id = id;
  r.attempt = attempt;
  r.state = "placed";
  return r;
}

TEST(RestorePlan, AJobStillPlacedHereAtTheSameAttemptIsKept) {
  auto s = SplitPendingByWelcome({E("a", 2)}, {K("a", 2)});
  ASSERT_EQ(s.kept.size(), 1u);
  EXPECT_TRUE(s.fenced.empty());
}

TEST(RestorePlan, AJobMovedElsewhereOrReAttemptedIsFenced) {
  // "b" is not placed here any more (re-auctioned while the host was down);
  // "c" is placed here but under a newer attempt: the old one must not run.
  auto s = SplitPendingByWelcome({E("b", 1), E("c", 1)}, {K("c", 2)});
  EXPECT_TRUE(s.kept.empty());
  ASSERT_EQ(s.fenced.size(), 2u);
}

TEST(RestorePlan, DataServicesStartBeforeCode) {
  auto o = RestoreOrder({E("web2", 1), E("db", 1, 10), E("web1", 1), E("cache", 1, 5)});
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0].spec.id, "db");
  EXPECT_EQ(o[1].spec.id, "cache");
  EXPECT_EQ(o[2].spec.id, "web1");
  EXPECT_EQ(o[3].spec.id, "web2");
  std::vector<msg::JobRecord> keep = {K("web", 1), K("db", 1)};
  keep[1].spec.priority = 1;
  SortKeepForStart(&keep);
  EXPECT_EQ(keep[0].spec.id, "db");
}

}  // namespace
}  // namespace rv::strider
