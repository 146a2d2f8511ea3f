#include "common/transport/resubscribe_backoff.h"

#include <gtest/gtest.h>

namespace rv::transport {
namespace {

// A fake clock: the times are plain numbers.
constexpr int64_t kT0 = 1000000;

TEST(ResubscribeBackoff, SchedulesNothingBeforeARefusal) {
  ResubscribeBackoff b(500, 5000);
  EXPECT_EQ(b.due_at(), 0);
  EXPECT_FALSE(b.Due(kT0));
}

TEST(ResubscribeBackoff, IsDueTheFirstWaitAfterARefusalAndNotBefore) {
  ResubscribeBackoff b(500, 5000);
  EXPECT_EQ(b.Refused(kT0), 500);
  EXPECT_EQ(b.due_at(), kT0 + 500);
  EXPECT_FALSE(b.Due(kT0 + 499));
  EXPECT_TRUE(b.Due(kT0 + 500));
  EXPECT_TRUE(b.Due(kT0 + 60000));
}

TEST(ResubscribeBackoff, IgnoresFurtherRefusalsWhileOneIsScheduled) {
  ResubscribeBackoff b(500, 5000);
  ASSERT_EQ(b.Refused(kT0), 500);
  EXPECT_EQ(b.Refused(kT0 + 100), 0);
  EXPECT_EQ(b.Refused(kT0 + 499), 0);
  EXPECT_EQ(b.due_at(), kT0 + 500);
  // And they do not count towards a longer wait.
  b.Resubscribed();
  EXPECT_EQ(b.Refused(kT0 + 600), 1000);
}

TEST(ResubscribeBackoff, DoublesTheWaitForEachRefusalUpToTheCap) {
  ResubscribeBackoff b(500, 5000);
  int64_t now = kT0;
  for (int64_t want : {500, 1000, 2000, 4000, 5000, 5000}) {
    EXPECT_EQ(b.Refused(now), want);
    now = b.due_at();
    ASSERT_TRUE(b.Due(now));
    b.Resubscribed();
    EXPECT_FALSE(b.Due(now));
  }
}

// The agent's links wait 200, 400, ... 5000 ms.
TEST(ResubscribeBackoff, CapsAWaitThatWouldOvershootAtTheMaximum) {
  ResubscribeBackoff b(200, 5000);
  int64_t now = kT0;
  for (int64_t want : {200, 400, 800, 1600, 3200, 5000, 5000}) {
    EXPECT_EQ(b.Refused(now), want);
    now = b.due_at();
    b.Resubscribed();
  }
}

TEST(ResubscribeBackoff, WaitsTheFirstDelayAgainAfterAReset) {
  ResubscribeBackoff b(500, 5000);
  b.Refused(kT0);
  b.Resubscribed();
  b.Refused(kT0 + 500);
  b.Resubscribed();
  b.Reset();
  EXPECT_EQ(b.Refused(kT0 + 2000), 500);
}

TEST(ResubscribeBackoff, KeepsAScheduledResubscriptionAcrossAReset) {
  ResubscribeBackoff b(500, 5000);
  b.Refused(kT0);
  b.Reset();
  EXPECT_EQ(b.due_at(), kT0 + 500);
}

}  // namespace
}  // namespace rv::transport
