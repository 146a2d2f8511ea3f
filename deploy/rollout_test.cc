#include "deploy/rollout.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace rv::deploy {
namespace {

AppJob Job(const std::string& id, const std::string& type, int64_t release, int32_t replica,
           const std::string& run_state, bool crashed = false) {
  return AppJob{id, type, release, replica, run_state.empty() ? "pending" : "placed", run_state, crashed};
}

RolloutInput Input(int64_t target, std::map<std::string, int32_t> formation, std::vector<AppJob> jobs,
                   int64_t now_ms = 1000) {
  RolloutInput in;
  in.target = target;
  in.current = target - 1;  // the usual deploy: the previous release runs
  in.formation = std::move(formation);
  in.process_types = {{"web", "httpd -f -p $PORT"}, {"worker", "sleep 1d"}};
  in.jobs = std::move(jobs);
  in.started_ms = 0;
  in.now_ms = now_ms;
  in.boot_timeout_ms = 60000;
  return in;
}

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(Rollout, AFirstDeployStartsEveryReplicaOfTheFormation) {
  auto p = DecideRollout(Input(1, {{"web", 2}, {"worker", 1}}, {}));
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 1}, {"web", 2}, {"worker", 1}}));
  EXPECT_TRUE(p.stop.empty());
  EXPECT_FALSE(p.done);
  EXPECT_FALSE(p.failed);
}

TEST(Rollout, AFirstDeployIsDoneWhenEveryReplicaRuns) {
  auto p = DecideRollout(Input(1, {{"web", 2}}, {Job("a", "web", 1, 1, "running"), Job("b", "web", 1, 2, "starting")}));
  EXPECT_FALSE(p.done);
  EXPECT_TRUE(p.start.empty());
  p = DecideRollout(Input(1, {{"web", 2}}, {Job("a", "web", 1, 1, "running"), Job("b", "web", 1, 2, "running")}));
  EXPECT_TRUE(p.done);
}

TEST(Rollout, NewReplicasStartWhileTheOldOnesKeepRunning) {
  auto p = DecideRollout(Input(2, {{"web", 2}}, {Job("o1", "web", 1, 1, "running"), Job("o2", "web", 1, 2, "running")}));
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 1}, {"web", 2}}));
  EXPECT_TRUE(p.stop.empty());
}

TEST(Rollout, OldReplicasStopOnlyWhenEveryNewOneIsHealthy) {
  std::vector<AppJob> jobs = {Job("o1", "web", 1, 1, "running"), Job("o2", "web", 1, 2, "running"),
                              Job("n1", "web", 2, 1, "running"), Job("n2", "web", 2, 2, "starting")};
  auto p = DecideRollout(Input(2, {{"web", 2}}, jobs));
  EXPECT_TRUE(p.stop.empty()) << "an old replica stopped before n2 was healthy";
  EXPECT_FALSE(p.cut_over);
  jobs[3].run_state = "unhealthy";  // up but its health check fails: not yet
  EXPECT_TRUE(DecideRollout(Input(2, {{"web", 2}}, jobs)).stop.empty());
  jobs[3].run_state = "running";
  p = DecideRollout(Input(2, {{"web", 2}}, jobs));
  EXPECT_TRUE(p.cut_over);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"o1", "o2"}));
  EXPECT_FALSE(p.done);
  // The old ones stopped (no longer listed): done.
  p = DecideRollout(Input(2, {{"web", 2}}, {jobs[2], jobs[3]}));
  EXPECT_TRUE(p.done);
}

TEST(Rollout, TheCutOverWaitsForEveryProcessType) {
  std::vector<AppJob> jobs = {Job("ow", "web", 1, 1, "running"), Job("ok", "worker", 1, 1, "running"),
                              Job("nw", "web", 2, 1, "running"), Job("nk", "worker", 2, 1, "starting")};
  EXPECT_TRUE(DecideRollout(Input(2, {{"web", 1}, {"worker", 1}}, jobs)).stop.empty());
}

TEST(Rollout, ANewReleaseNotHealthyWithinTheBootTimeoutIsRolledBack) {
  std::vector<AppJob> jobs = {Job("o1", "web", 1, 1, "running"), Job("n1", "web", 2, 1, "running"),
                              Job("n2", "web", 2, 2, "unhealthy")};
  EXPECT_FALSE(DecideRollout(Input(2, {{"web", 2}}, jobs, 59999)).failed);
  auto p = DecideRollout(Input(2, {{"web", 2}}, jobs, 60000));
  EXPECT_TRUE(p.failed);
  EXPECT_NE(p.why.find("not healthy within 60 s"), std::string::npos) << p.why;
  EXPECT_TRUE(Has(p.stop, "n1"));
  EXPECT_TRUE(Has(p.stop, "n2"));
  EXPECT_FALSE(Has(p.stop, "o1")) << "the old release must keep running";
  EXPECT_TRUE(p.start.empty());
}

TEST(Rollout, AReplicaThatNeverGetsAHostCountsAgainstTheBootTimeout) {
  auto p = DecideRollout(Input(2, {{"web", 1}}, {Job("o1", "web", 1, 1, "running"), Job("n1", "web", 2, 1, "")}, 70000));
  EXPECT_TRUE(p.failed);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"n1"}));
}

TEST(Rollout, ACrashAtBootRollsBackAtOnce) {
  std::vector<AppJob> jobs = {Job("o1", "web", 1, 1, "running"), Job("n1", "web", 2, 1, "starting", /*crashed=*/true)};
  auto p = DecideRollout(Input(2, {{"web", 1}}, jobs, 2000));
  EXPECT_TRUE(p.failed);
  EXPECT_NE(p.why.find("crashed at boot"), std::string::npos) << p.why;
  EXPECT_EQ(p.stop, (std::vector<std::string>{"n1"}));
  jobs[1] = Job("n1", "web", 2, 1, "exited");
  EXPECT_TRUE(DecideRollout(Input(2, {{"web", 1}}, jobs, 2000)).failed);
}

TEST(Rollout, AFirstDeployThatNeverRunsFailsAtTheTimeoutAndStopsItsReplicas) {
  std::vector<AppJob> jobs = {Job("n1", "web", 1, 1, "starting", true)};
  EXPECT_FALSE(DecideRollout(Input(1, {{"web", 1}}, jobs, 5000)).failed) << "may still be restarted";
  auto p = DecideRollout(Input(1, {{"web", 1}}, jobs, 61000));
  EXPECT_TRUE(p.failed);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"n1"}));
}

TEST(Rollout, ScalingUpStartsTheMissingReplicasOfTheRunningRelease) {
  auto p = DecideRollout(Input(3, {{"web", 3}, {"worker", 1}}, {Job("a", "web", 3, 1, "running")}));
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 2}, {"web", 3}, {"worker", 1}}));
  EXPECT_TRUE(p.stop.empty());
}

TEST(Rollout, ScalingDownStopsTheHighestReplicasAndThoseNotRunningFirst) {
  std::vector<AppJob> jobs = {Job("a", "web", 3, 1, "running"), Job("b", "web", 3, 2, "starting"),
                              Job("c", "web", 3, 3, "running")};
  auto p = DecideRollout(Input(3, {{"web", 2}}, jobs));
  EXPECT_EQ(p.stop, (std::vector<std::string>{"b"}));
  EXPECT_TRUE(p.start.empty());
  p = DecideRollout(Input(3, {{"web", 0}}, jobs));
  EXPECT_EQ(p.stop.size(), 3u);
  p = DecideRollout(Input(3, {{"web", 2}}, {jobs[0], jobs[2]}));
  EXPECT_TRUE(p.done);
}

TEST(Rollout, AFailedScaleKeepsTheReplicasThatRun) {
  std::vector<AppJob> jobs = {Job("a", "web", 3, 1, "running"), Job("b", "web", 3, 2, "")};
  auto p = DecideRollout(Input(3, {{"web", 2}}, jobs, 61000));
  EXPECT_TRUE(p.failed);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"b"}));
}

TEST(Rollout, AProcessTypeTheReleaseDoesNotDefineRunsNothing) {
  RolloutInput in = Input(2, {{"web", 1}, {"clock", 2}}, {Job("o", "clock", 1, 1, "running")});
  auto p = DecideRollout(in);
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 1}}));
  EXPECT_TRUE(p.stop.empty()) << "old replicas wait for the cut-over";
}

TEST(Rollout, AReplacementReplicaTakesAFreeNumber) {
  auto p = DecideRollout(Input(2, {{"web", 3}}, {Job("a", "web", 2, 1, "running"), Job("c", "web", 2, 3, "running")}));
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 2}}));
}

TEST(Rollout, ALeftoverOfAnInterruptedRolloutStopsAtOnce) {
  // v2's rollout was killed half way; v1 is the deployed release; v3 goes out.
  RolloutInput in = Input(3, {{"web", 1}}, {Job("o1", "web", 1, 1, "running"), Job("x2", "web", 2, 1, "running")});
  in.current = 1;
  auto p = DecideRollout(in);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"x2"}));
  EXPECT_EQ(p.start, (std::vector<StartReplica>{{"web", 1}}));
  EXPECT_FALSE(p.done);
  // A scale of v1 (target == current) keeps v1.
  in.target = 1;
  p = DecideRollout(in);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"x2"}));
  EXPECT_TRUE(p.start.empty());
  // Nothing deployed yet: an interrupted first deploy's replicas stop too.
  in.target = 3;
  in.current = 0;
  EXPECT_EQ(DecideRollout(in).stop, (std::vector<std::string>{"o1", "x2"}));
}

TEST(ServiceName, RoundTripsAndRefusesAnotherAppsService) {
  EXPECT_EQ(ServiceName("acme/prod/web", "web", 3), "acme/prod/web:web.v3");
  auto p = ParseServiceName("acme/prod/web", "acme/prod/web:web.v3");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "web");
  EXPECT_EQ(p->release, 3);
  EXPECT_FALSE(ParseServiceName("acme/prod/web", "acme/prod/webx:web.v3"));
  EXPECT_FALSE(ParseServiceName("acme/prod/web", "acme/prod/web:web"));
  EXPECT_FALSE(ParseServiceName("acme/prod/web", "acme/prod/web:web.v"));
  EXPECT_FALSE(ParseServiceName("acme/prod/web", "acme/prod/web:web.vx"));
  EXPECT_FALSE(ParseServiceName("acme/prod/web", "other"));
}

}  // namespace
}  // namespace rv::deploy
