#include "sceptre/recovery_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace rv::sceptre {
namespace {

ContainerObs Dead(const std::string& id, bool in_journal) {
  ContainerObs c;
  c.id = id;
  c.has_dir = c.has_mount = c.has_netns = c.has_cgroup = c.has_runc_state = c.has_bundle = true;
  c.in_journal = in_journal;
  return c;
}

int Count(const Plan& p, ActionKind k) {
  return static_cast<int>(std::count_if(p.actions.begin(), p.actions.end(), [k](const Action& a) { return a.kind == k; }));
}

TEST(RecoveryPlan, ALiveContainerIsNeverTouched) {
  Observed o;
  ContainerObs c = Dead("rv-a", true);
  c.alive = true;
  o.containers.push_back(c);
  ContainerObs orphan = Dead("rv-b", false);
  orphan.alive = true;  // not in the journal either: the strider decides
  o.containers.push_back(orphan);
  Plan p = DecideRecovery(o);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.left_running.size(), 2u);
}

TEST(RecoveryPlan, EveryTraceOfADeadContainerIsCleanedInOrder) {
  Observed o;
  o.containers.push_back(Dead("rv-a", false));
  Plan p = DecideRecovery(o);
  EXPECT_EQ(p.dead_containers, 1);
  ASSERT_EQ(p.actions.size(), 6u);
  EXPECT_EQ(p.actions[0].kind, ActionKind::kRuncDelete);
  EXPECT_EQ(p.actions[1].kind, ActionKind::kUnmount);
  EXPECT_EQ(p.actions[2].kind, ActionKind::kDeleteNetns);
  EXPECT_EQ(p.actions[3].kind, ActionKind::kRemoveCgroup);
  EXPECT_EQ(Count(p, ActionKind::kRemovePath), 1);  // its dir: not in the journal
}

TEST(RecoveryPlan, AJournaledContainerKeepsItsDirForTheRestart) {
  Observed o;
  o.containers.push_back(Dead("rv-a", true));
  Plan p = DecideRecovery(o);
  EXPECT_EQ(Count(p, ActionKind::kUnmount), 1);
  EXPECT_EQ(Count(p, ActionKind::kRemovePath), 0);
}

TEST(RecoveryPlan, AfterARebootOnlyMountsNetnsAndCgroupsRemain) {
  Observed o;  // the tmpfs is gone: no runc state, no bundles
  ContainerObs c = Dead("rv-a", true);
  c.has_runc_state = c.has_bundle = false;
  o.containers.push_back(c);
  Plan p = DecideRecovery(o);
  EXPECT_EQ(Count(p, ActionKind::kRuncDelete), 0);
  EXPECT_EQ(Count(p, ActionKind::kUnmount), 1);
  EXPECT_EQ(Count(p, ActionKind::kDeleteNetns), 1);
  EXPECT_EQ(Count(p, ActionKind::kRemoveCgroup), 1);
}

TEST(RecoveryPlan, ACleanHostNeedsNothing) {
  Observed o;
  ContainerObs c;
  c.id = "rv-a";
  c.has_dir = true;
  c.in_journal = true;
  o.containers.push_back(c);
  Plan p = DecideRecovery(o);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.dead_containers, 0);
}

TEST(RecoveryPlan, HalfPulledBlobsCorruptBlobsOrphanLayersAndStaleLocksGo) {
  Observed o;
  o.image_tmp = {"/s/images/tmp/abc.1.2"};
  o.journal_tmp = {"/d/journal/x.entry.tmp"};
  o.corrupt_blobs = {"/s/images/blobs/sha256/aa"};
  o.orphan_layers = {"/s/images/layers/bb"};
  o.stale_locks = {"/d/x.lock"};
  Plan p = DecideRecovery(o);
  EXPECT_EQ(Count(p, ActionKind::kRemovePath), 5);
}

}  // namespace
}  // namespace rv::sceptre
