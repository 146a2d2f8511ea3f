#include "deploy/rollout_driver.h"
#include "deploy/one_off.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace rv::deploy {
namespace {

// A pod in memory: a submitted job is placed at once and becomes `running`
// (or, for a release listed in `crash`, exits) after `boot_ms` of fake time.
class FakePod : public RolloutIo {
 public:
  Result<std::vector<msg::JobRecord>> Jobs() override {
    if (Down()) return Status::Unavailable("no reply within 5000 ms");
    for (auto& [id, j] : jobs_) {
      if (j.state == "placed" && j.run_state == "starting" && now_ - submitted_[id] >= boot_ms) {
        bool crashes = crash.count(j.spec.service.substr(j.spec.service.rfind(".v") + 2));
        j.run_state = crashes ? "exited" : (never_healthy.count(j.spec.service) ? "unhealthy" : "running");
        if (crashes) j.run_state = "starting";  // restarted already: only the event tells
        log.push_back((crashes ? "crash " : "running ") + id);
        if (crashes) events_.push_back(msg::Event{++seq_, 0, "job.state", "h1", id, 1, "exited: code 1"});
      }
    }
    std::vector<msg::JobRecord> out;
    for (auto& [id, j] : jobs_) out.push_back(j);
    return out;
  }
  Result<int64_t> LastEventSeq() override { return seq_; }
  Result<std::vector<msg::Event>> EventsAfter(int64_t seq) override {
    std::vector<msg::Event> out;
    for (const auto& e : events_) {
      if (e.seq > seq) out.push_back(e);
    }
    return out;
  }
  Status Submit(std::vector<msg::JobSpec> jobs) override {
    if (Down()) return Status::Unavailable("no reply within 5000 ms");
    for (auto& s : jobs) {
      log.push_back("submit " + s.id);
      msg::JobRecord r;
      r.spec = s;
      r.state = "placed";
      r.host_id = "h" + std::to_string(s.replica);
      r.run_state = "starting";
      submitted_[s.id] = now_;
      jobs_[s.id] = r;
    }
    return Status::Ok();
  }
  Status Stop(const std::vector<std::string>& ids) override {
    if (Down()) return Status::Unavailable("no reply within 5000 ms");
    for (const auto& id : ids) {
      log.push_back("stop " + id);
      jobs_[id].state = "stopped";
    }
    last_stop_ms = now_;
    return Status::Ok();
  }
  int64_t NowMs() override { return now_; }
  void SleepMs(int ms) override { now_ += ms; }

  void Run(const msg::ReleaseRecord& r, int replicas) {
    std::vector<msg::JobSpec> specs;
    for (int i = 1; i <= replicas; ++i) {
      auto s = JobFor(r, "web", i, {}, "old");
      specs.push_back(s);
    }
    (void)Submit(specs);
    for (auto& [id, j] : jobs_) j.run_state = "running";
    log.clear();
  }
  int Index(const std::string& prefix) const {
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    }
    return -1;
  }
  int LastIndex(const std::string& prefix) const {
    int at = -1;
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].rfind(prefix, 0) == 0) at = static_cast<int>(i);
    }
    return at;
  }

  bool Down() const { return now_ >= down_from && now_ < down_to; }

  int64_t boot_ms = 1000;
  int64_t down_from = -1, down_to = -1;  // fake times sauron does not answer
  std::set<std::string> crash;          // release numbers whose replicas crash at boot
  std::set<std::string> never_healthy;  // services that never pass their health check
  std::vector<std::string> log;
  int64_t last_stop_ms = -1;  // fake time of the last Stop

 private:
  int64_t now_ = 1000, seq_ = 10;
  std::map<std::string, msg::JobRecord> jobs_;
  std::map<std::string, int64_t> submitted_;
  std::vector<msg::Event> events_;
};

msg::ReleaseRecord Release(int64_t v) {
  msg::ReleaseRecord r;
  r.app = "acme/prod/web";
  r.version = v;
  r.image = "stack/busybox@sha256:0";
  r.process_types = {{"web", "httpd -f -p $PORT"}};
  r.formation = {{"web", 2}};
  return r;
}

TEST(RolloutDriver, TheNewReplicasRunBeforeTheOldOnesStop) {
  FakePod pod;
  pod.Run(Release(1), 2);
  std::vector<std::string> lines;
  auto out = RunRollout(pod, Release(2), 1, {{"web", 2}}, {}, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(out.ok) << out.why;
  EXPECT_EQ(out.running.size(), 2u);
  int last_running = pod.LastIndex("running acme.prod.web.web.v2");
  int first_stop = pod.Index("stop acme.prod.web.web.v1");
  ASSERT_GE(last_running, 0);
  ASSERT_GE(first_stop, 0);
  EXPECT_LT(last_running, first_stop);
  EXPECT_EQ(pod.Index("stop acme.prod.web.web.v2"), -1);
  bool said_won = false;
  for (const auto& l : lines) said_won |= l.find("won by h") != std::string::npos;
  EXPECT_TRUE(said_won);
}

TEST(RolloutDriver, ASauronRestartMidRolloutIsWaitedOutAndTheCutOverStillHappens) {
  FakePod pod;
  pod.Run(Release(1), 2);
  pod.down_from = pod.NowMs() + 300;  // after the submit, before the replicas boot
  pod.down_to = pod.NowMs() + 8300;
  std::vector<std::string> lines;
  auto out = RunRollout(pod, Release(2), 1, {{"web", 2}}, {}, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(out.ok) << out.why;
  EXPECT_EQ(out.running.size(), 2u);
  EXPECT_GE(pod.Index("stop acme.prod.web.web.v1"), 0);
  EXPECT_EQ(pod.Index("stop acme.prod.web.web.v2"), -1);
  EXPECT_EQ(pod.LastIndex("submit "), pod.Index("submit acme.prod.web.web.v2") + 1) << "replicas submitted twice";
  int said = 0;
  for (const auto& l : lines) said += l.rfind("-----> sauron does not answer", 0) == 0;
  EXPECT_EQ(said, 1);
}

TEST(RolloutDriver, ASauronThatNeverAnswersAgainEndsTheRolloutWithinItsBound) {
  FakePod pod;
  pod.Run(Release(1), 1);
  pod.down_from = pod.NowMs() + 300;
  pod.down_to = pod.NowMs() + 10000000;
  RolloutOptions o;
  o.boot_timeout_ms = 5000;
  auto out = RunRollout(pod, Release(2), 1, {{"web", 1}}, o, [](const std::string&) {});
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.why.find("no reply"), std::string::npos) << out.why;
  EXPECT_LE(pod.NowMs(), 1000 + 5000 + 30000 + 1000);
}

TEST(RolloutDriver, EndsRightAfterTheCutOverWithoutWaitingAnotherTurn) {
  FakePod pod;
  pod.Run(Release(1), 1);
  auto out = RunRollout(pod, Release(2), 1, {{"web", 1}}, {}, [](const std::string&) {});
  ASSERT_TRUE(out.ok) << out.why;
  ASSERT_GE(pod.Index("stop acme.prod.web.web.v1"), 0);
  EXPECT_EQ(pod.NowMs(), pod.last_stop_ms) << "the push waited a poll interval after stopping the old release";
}

TEST(RolloutDriver, ACrashAtBootStopsTheNewReplicasAndKeepsTheOld) {
  FakePod pod;
  pod.Run(Release(1), 2);
  pod.crash.insert("2");
  auto out = RunRollout(pod, Release(2), 1, {{"web", 2}}, {}, [](const std::string&) {});
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.why.find("crashed at boot"), std::string::npos) << out.why;
  EXPECT_EQ(pod.Index("stop acme.prod.web.web.v1"), -1);
  EXPECT_GE(pod.Index("stop acme.prod.web.web.v2"), 0);
}

TEST(RolloutDriver, ANeverHealthyReleaseIsRolledBackAfterTheBootTimeout) {
  FakePod pod;
  pod.Run(Release(1), 1);
  pod.never_healthy.insert("acme/prod/web:web.v2");
  RolloutOptions o;
  o.boot_timeout_ms = 5000;
  auto out = RunRollout(pod, Release(2), 1, {{"web", 1}}, o, [](const std::string&) {});
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.why.find("not healthy within 5 s"), std::string::npos) << out.why;
  EXPECT_EQ(pod.Index("stop acme.prod.web.web.v1"), -1);
}

// A release command's log: `text` in one read, then nothing more.
std::function<LogStep(const std::string&)> LogOf(std::string text) {
  return [text](const std::string&) -> LogStep {
    return [text, done = false]() mutable -> Result<msg::LogChunk> {
      msg::LogChunk c;
      c.ready = true;
      if (!done) c.data = text;
      done = true;
      return c;
    };
  };
}

TEST(RolloutDriver, AReleaseCommandThatFailsStopsTheDeploy) {
  // The release job exits with code 1 in this fake only through its events;
  // a real strider lists it as exited with "code 1".
  class ReleaseFails : public FakePod {
   public:
    Result<std::vector<msg::JobRecord>> Jobs() override {
      auto j = FakePod::Jobs();
      for (auto& r : *j) {
        if (r.spec.service.find(":release.") != std::string::npos) {
          r.run_state = "exited";
          r.run_detail = "code 1";
        }
      }
      return j;
    }
  } pod;
  auto r = Release(3);
  r.process_types["release"] = "./migrate";
  Status s = RunReleasePhase(pod, r, {}, [](const std::string&) {}, LogOf(""));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("release command failed (exit code 1)"), std::string::npos) << s.message();
  EXPECT_GE(pod.Index("stop acme.prod.web.release.v3"), 0);
  EXPECT_TRUE(RunReleasePhase(pod, Release(3), {}, [](const std::string&) {}, LogOf("")).ok())
      << "no release type: nothing to run";
}

TEST(RolloutDriver, AReleaseCommandThatExitsZeroLetsTheDeployGoOnAndItsOutputIsSaid) {
  class ReleaseOk : public FakePod {
   public:
    Result<std::vector<msg::JobRecord>> Jobs() override {
      auto j = FakePod::Jobs();
      for (auto& r : *j) {
        if (r.spec.service.find(":release.") != std::string::npos && r.state != "stopped") {
          r.run_state = "exited";
          r.run_detail = "code 0";
        }
      }
      return j;
    }
  } pod;
  auto r = Release(3);
  r.process_types["release"] = "./migrate";
  std::vector<std::string> lines;
  ASSERT_TRUE(
      RunReleasePhase(pod, r, {}, [&](const std::string& l) { lines.push_back(l); }, LogOf("migrated 3 tables\nok")).ok());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "-----> Running release command: ./migrate");
  // Its output reaches the pusher, a whole line at a time, the last one too.
  auto at = std::find(lines.begin(), lines.end(), "       migrated 3 tables");
  ASSERT_NE(at, lines.end());
  ASSERT_NE(at + 1, lines.end());
  EXPECT_EQ(*(at + 1), "       ok");
  EXPECT_GE(pod.Index("stop acme.prod.web.release.v3"), 0) << "its job is cleaned up";
  // The release command is no replica: a rollout neither counts nor stops it as one.
  auto out = RunRollout(pod, r, 0, {{"web", 1}}, {}, [](const std::string&) {});
  EXPECT_TRUE(out.ok) << out.why;
}

TEST(RolloutDriver, AWebReleaseStartsTheEnvironmentsProxyOnceWhenAsked) {
  FakePod pod;
  RolloutOptions o;
  o.proxy_image = "rivendell/proxy:latest";
  std::vector<std::string> lines;
  auto say = [&](const std::string& l) { lines.push_back(l); };
  ASSERT_TRUE(RunRollout(pod, Release(1), 0, {{"web", 2}}, o, say).ok);
  EXPECT_GE(pod.Index("submit acme.prod.proxy-1"), 0);
  EXPECT_GE(pod.Index("submit acme.prod.proxy-2"), 0);
  bool said = false;
  for (const auto& l : lines) said |= l == "-----> Starting acme/prod's proxy (2 replicas)";
  EXPECT_TRUE(said);
  pod.log.clear();
  ASSERT_TRUE(RunRollout(pod, Release(2), 1, {{"web", 2}}, o, say).ok);
  EXPECT_EQ(pod.Index("submit acme.prod.proxy"), -1);
  // Not asked (rv rollback, ps:scale): nothing.
  FakePod other;
  ASSERT_TRUE(RunRollout(other, Release(1), 0, {{"web", 2}}, {}, say).ok);
  EXPECT_EQ(other.Index("submit acme.prod.proxy"), -1);
}

TEST(JobFor, AWebReplicaGetsItsPortHealthHaAndReleaseService) {
  RolloutOptions o;
  o.web_port = 5000;
  auto j = JobFor(Release(3), "web", 2, o, "abc123");
  EXPECT_EQ(j.id, "acme.prod.web.web.v3.2.abc123");
  EXPECT_EQ(j.service, "acme/prod/web:web.v3");
  EXPECT_EQ(j.env, "acme/prod");
  EXPECT_EQ(j.tenant, "acme");
  EXPECT_EQ(j.app, "web");
  EXPECT_EQ(j.port, 5000);
  EXPECT_TRUE(j.rules.ha);
  EXPECT_EQ(j.image, "stack/busybox@sha256:0");
  ASSERT_FALSE(j.command.empty());
  EXPECT_EQ(j.command.back(), "httpd -f -p $PORT");
  EXPECT_EQ(j.config.at("RV_RELEASE"), "v3");
  auto w = JobFor(Release(3), "worker", 1, o, "x");
  EXPECT_EQ(w.port, 0);
  EXPECT_FALSE(w.rules.ha);
}

}  // namespace
}  // namespace rv::deploy
