#include "deploy/remote_build.h"

#include <gtest/gtest.h>

#include <deque>

namespace rv::deploy {
namespace {

// A pod in memory: the job goes pending -> placed on h1 after `place_after`
// polls; the output arrives in the chunks given, one per poll once placed.
class FakeIo : public RemoteBuildIo {
 public:
  Result<std::string> PushSource(const std::string& dir, const std::string& repo, const std::string& tag) override {
    pushed = dir + " " + repo + ":" + tag;
    if (!push_ok) return Status::Unavailable("registry down");
    return std::string("sha256:" + std::string(64, 'd'));
  }
  Status Submit(const msg::JobSpec& j) override {
    job.spec = j;
    job.state = "pending";
    job.reason = "no host has role=build";
    return Status::Ok();
  }
  Result<msg::JobRecord> Job(const std::string&) override {
    if (++polls > place_after && place_after >= 0 && job.state == "pending") {
      job.state = "placed";
      job.host_id = "h1";
      job.run_state = "running";
    }
    if (job.state == "placed" && job.attempt == 0) job.attempt = 1;
    if (on_job) on_job(job);
    if (job.state == "placed" && chunks.empty() && exit_when_drained) {
      job.run_state = "exited";
      job.run_detail = "code 1";
    }
    return job;
  }
  Result<msg::BuildOutput> Output(const std::string&, int64_t, int64_t offset) override {
    msg::BuildOutput o;
    o.next_offset = offset;
    if (job.state == "placed" && !chunks.empty()) {
      o.text = chunks.front();
      chunks.pop_front();
      o.next_offset = offset + o.text.size();
    }
    return o;
  }
  Status Stop(const std::string& id) override {
    stopped.push_back(id);
    job.state = "stopped";
    return Status::Ok();
  }
  int64_t NowMs() override { return now; }
  void SleepMs(int ms) override { now += ms; }
  bool Cancelled() override { return cancel_at > 0 && now >= cancel_at; }

  msg::JobRecord job;
  std::function<void(msg::JobRecord&)> on_job;
  std::deque<std::string> chunks;
  std::vector<std::string> stopped;
  std::string pushed;
  bool push_ok = true, exit_when_drained = false;
  int polls = 0, place_after = 2;
  int64_t now = 1000, cancel_at = 0;
};

struct Outcome {
  RemoteBuildOutcome out;
  std::vector<std::string> said;
};

Outcome Go(FakeIo& io, RemoteBuildOptions o = {}) {
  Outcome r;
  o.env["A"] = "1";
  r.out = RunRemoteBuild(io, "acme/prod/web", 4, o, "/src", "n1", [&](const std::string& l) { r.said.push_back(l); });
  return r;
}

TEST(RemoteBuild, SubmitsABuildJobForABuildHostAndStreamsItsOutputToTheResult) {
  FakeIo io;
  io.chunks = {"-----> Python app detected\ninstalling", " wheels\n", "builder: result {\"image\":\"apps/acme/prod/web@sha256:1\"}\n"};
  Outcome r = Go(io);
  ASSERT_TRUE(r.out.ok) << r.out.error;
  EXPECT_EQ(r.out.result["image"], "apps/acme/prod/web@sha256:1");
  EXPECT_EQ(r.out.host, "h1");
  EXPECT_EQ(io.pushed, "/src sources/acme/prod/web:b4");
  EXPECT_EQ(io.job.spec.kind, "build");
  EXPECT_EQ(io.job.spec.rules.constraints.at("role"), "build");
  EXPECT_EQ(io.job.spec.config.at(build_job::kSource), "sources/acme/prod/web@sha256:" + std::string(64, 'd'));
  EXPECT_EQ(io.job.spec.config.at("RV_BUILD_ENV_A"), "1");
  std::vector<std::string> want = {"-----> Python app detected", "installing wheels"};
  ASSERT_GE(r.said.size(), 3u);
  EXPECT_NE(r.said[0].find("Build job won by h1"), std::string::npos);
  EXPECT_EQ(r.said[1], want[0]);
  EXPECT_EQ(r.said[2], want[1]);  // a line split across chunks is printed whole
  EXPECT_EQ(r.said.size(), 3u);    // the result line is rv-deploy's, not the pusher's
  EXPECT_EQ(io.stopped.size(), 1u);  // its reservation goes
}

TEST(RemoteBuild, ABuildWhoseHostIsLostStartsOverWhereItIsPlacedAgain) {
  FakeIo io;
  io.place_after = 1;
  io.chunks = {"-----> Building\n", "", "", "", "", "-----> Building\n", "builder: result {\"image\":\"x@sha256:2\"}\n"};
  int calls = 0;
  io.on_job = [&](msg::JobRecord& j) {
    if (++calls == 4) {  // h1 lost: back to pending, then placed on h2 at the next attempt
      j.state = "pending";
      j.host_id.clear();
    } else if (calls == 5) {
      j.state = "placed";
      j.host_id = "h2";
      j.attempt = 2;
    }
  };
  RemoteBuildOptions o;
  o.job_poll_every = 1;  // the job's states above, one per turn
  Outcome r = Go(io, o);
  ASSERT_TRUE(r.out.ok) << r.out.error;
  EXPECT_EQ(r.out.host, "h2");
  bool again = false;
  for (const auto& l : r.said) again = again || l == "-----> Build job placed again on h2 (its host was lost); the build starts over";
  EXPECT_TRUE(again);
}

TEST(RemoteBuild, ABuilderErrorFailsTheBuildWithItsReason) {
  FakeIo io;
  io.chunks = {"compiling\nbuilder: error build failed: the buildpacks exited with code 1\n"};
  Outcome r = Go(io);
  EXPECT_FALSE(r.out.ok);
  EXPECT_EQ(r.out.error, "build failed: the buildpacks exited with code 1");
  EXPECT_EQ(io.stopped.size(), 1u);
}

TEST(RemoteBuild, NoBuildHostFailsAfterThePlacementTimeoutWithSauronsReason) {
  FakeIo io;
  io.place_after = -1;  // never placed
  RemoteBuildOptions o;
  o.placement_timeout_ms = 2000;
  Outcome r = Go(io, o);
  EXPECT_FALSE(r.out.ok);
  EXPECT_EQ(r.out.error, "no build host (role=build) took the build job: no host has role=build");
  EXPECT_EQ(io.stopped.size(), 1u);
  EXPECT_LE(io.now, 1000 + 2000 + 400);
}

TEST(RemoteBuild, AJobThatEndsWithoutAResultFailsSayingHow) {
  FakeIo io;
  io.exit_when_drained = true;
  io.chunks = {"Segmentation fault\n"};
  Outcome r = Go(io);
  EXPECT_FALSE(r.out.ok);
  EXPECT_EQ(r.out.error, "the build job on h1 exited: code 1 without a result");
}

TEST(RemoteBuild, ARegistryFailureSubmitsNothing) {
  FakeIo io;
  io.push_ok = false;
  Outcome r = Go(io);
  EXPECT_FALSE(r.out.ok);
  EXPECT_EQ(r.out.error, "cannot send the source to the registry: registry down");
  EXPECT_TRUE(io.job.spec.id.empty());
}

TEST(RemoteBuild, CancellingStopsTheJob) {
  FakeIo io;
  io.place_after = 1;
  io.chunks = {"a\n", "b\n", "c\n", "d\n", "e\n", "f\n"};
  io.cancel_at = 1300;
  Outcome r = Go(io);
  EXPECT_FALSE(r.out.ok);
  EXPECT_EQ(r.out.error, "cancelled");
  EXPECT_EQ(io.stopped.size(), 1u);
}

TEST(RemoteBuildLastLine, ParsesResultAndErrorAndIgnoresOtherLines) {
  EXPECT_FALSE(ParseLastLine("-----> building").ended);
  auto e = ParseLastLine("builder: error out of memory");
  EXPECT_TRUE(e.ended);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.error, "out of memory");
  auto bad = ParseLastLine("builder: result {not json");
  EXPECT_TRUE(bad.ended);
  EXPECT_FALSE(bad.ok);
  auto noimg = ParseLastLine("builder: result {\"digest\":\"x\"}");
  EXPECT_FALSE(noimg.ok);
  EXPECT_EQ(noimg.error, "the builder's result names no image");
}

}  // namespace
}  // namespace rv::deploy
