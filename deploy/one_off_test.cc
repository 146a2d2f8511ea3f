#include "deploy/one_off.h"

#include <gtest/gtest.h>

#include <map>

#include "common/console_job.h"
#include "deploy/rollout.h"

namespace rv::deploy {
namespace {

msg::ReleaseRecord Release() {
  msg::ReleaseRecord r;
  r.app = "acme/prod/web";
  r.version = 4;
  r.image = "registry/acme/prod/web@sha256:ab";
  r.process_types = {{"web", "python app.py"}};
  return r;
}

// A one-job pod in fake time: the job is pending for `pending_ms`, placed on
// h2 and `starting` for `start_ms`, then `running`, writing `out` in
// `pieces`, one per poll, then ends with `end_state` / `end_detail`.
class OneOffPod : public RolloutIo {
 public:
  int64_t pending_ms = 0, start_ms = 300;
  std::vector<std::string> pieces = {"line 1\n", "line 2\n"};
  std::string end_state = "exited", end_detail = "code 0";
  bool never_ends = false;
  std::vector<std::string> stopped;
  msg::JobRecord job;
  size_t written = 0;  // pieces in the log so far
  size_t read = 0;     // pieces the log step has returned

  Result<std::vector<msg::JobRecord>> Jobs() override {
    if (job.state == "stopped") return std::vector<msg::JobRecord>{job};
    int64_t age = now_ - submitted_;
    if (age < pending_ms) {
      job.state = "pending";
      job.reason = "no host has 64 MB free";
    } else {
      job.state = "placed";
      job.reason.clear();
      job.host_id = "h2";
      if (age < pending_ms + start_ms) {
        job.run_state = "starting";
      } else if (written < pieces.size()) {
        job.run_state = "running";
        ++written;
      } else if (!never_ends) {
        job.run_state = end_state;
        job.run_detail = end_detail;
      }
    }
    return std::vector<msg::JobRecord>{job};
  }
  Result<int64_t> LastEventSeq() override { return 0; }
  Result<std::vector<msg::Event>> EventsAfter(int64_t) override { return std::vector<msg::Event>{}; }
  Status Submit(std::vector<msg::JobSpec> jobs) override {
    job.spec = jobs.at(0);
    job.state = "pending";
    submitted_ = now_;
    return Status::Ok();
  }
  Status Stop(const std::vector<std::string>& ids) override {
    stopped.insert(stopped.end(), ids.begin(), ids.end());
    job.state = "stopped";
    return Status::Ok();
  }
  int64_t NowMs() override { return now_; }
  void SleepMs(int ms) override { now_ += ms; }

  LogStep Log() {
    return [this]() -> Result<msg::LogChunk> {
      if (written == 0) return Status::NotFound("no log yet");
      msg::LogChunk c;
      c.ready = true;
      if (read < written) c.data = pieces[read++];
      return c;
    };
  }

 private:
  int64_t now_ = 0, submitted_ = 0;
};

struct Outcome {
  Result<int> code = Status::Unavailable("not run");
  std::string out;
  std::vector<std::string> progress;
};

Outcome RunIt(OneOffPod& pod, const std::function<bool()>& interrupted = [] { return false; }, int64_t max_run_ms = 0) {
  Outcome r;
  OneOffOptions o;
  o.start_timeout_ms = 5000;
  o.max_run_ms = max_run_ms;
  r.code = RunOneOff(pod, OneOffJob(Release(), "rake db:migrate", {}, "n1"), o, pod.Log(),
                     [&](const std::string& s) { r.out += s; }, [&](const std::string& l) { r.progress.push_back(l); },
                     interrupted);
  return r;
}

TEST(OneOffJobTest, RunsTheCommandInTheCurrentReleasesImageOnceUnroutedAndUnseenByRollouts) {
  msg::JobSpec j = OneOffJob(Release(), "rake db:migrate", {}, "n1");
  EXPECT_EQ(j.kind, "console");
  EXPECT_EQ(j.image, Release().image);
  EXPECT_EQ(j.env, "acme/prod");
  EXPECT_EQ(j.restart, "never");
  EXPECT_EQ(j.port, 0) << "no port: no proxy routes to it";
  EXPECT_FALSE(j.rules.ha);
  ASSERT_FALSE(j.command.empty());
  EXPECT_EQ(j.command.back(), "rake db:migrate") << "run like a Procfile line";
  EXPECT_EQ(j.config.at("RV_PROCESS_TYPE"), "run");
  auto parts = ParseServiceName("acme/prod/web", j.service);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->type, "run");
  msg::JobRecord rec;
  rec.spec = j;
  rec.state = "placed";
  EXPECT_TRUE(AppJobsOf("acme/prod/web", {rec}).empty()) << "a rollout never stops a one-off";
}

TEST(OneOffJobTest, ExitCodeOfReadsCodesAndSignals) {
  EXPECT_EQ(ExitCodeOf("code 0"), 0);
  EXPECT_EQ(ExitCodeOf("code 3 (exited at once)"), 3);
  EXPECT_EQ(ExitCodeOf("signal 9"), 137);
  EXPECT_EQ(ExitCodeOf("oom-killed at memory limit 64 MB"), 137);
  EXPECT_EQ(ExitCodeOf("image pull failed"), std::nullopt);
  EXPECT_EQ(ExitCodeOf("code "), std::nullopt);
}

TEST(StartDetachedTest, SubmitsItMarkedDetachedAndReturnsWhereItRunsWithoutStoppingIt) {
  OneOffPod pod;
  pod.pending_ms = 400;
  pod.never_ends = true;
  std::vector<std::string> progress;
  OneOffOptions o;
  auto host = StartDetached(pod, OneOffJob(Release(), "rake jobs:work", {}, "n1"), o,
                            [&](const std::string& l) { progress.push_back(l); });
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_EQ(*host, "h2");
  EXPECT_EQ(pod.job.spec.config.at(kRunDetachedVar), "1") << "sauron stops it when it ends";
  EXPECT_TRUE(pod.stopped.empty()) << "it goes on running";
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress.back().find("on h2: running"), std::string::npos) << progress.back();
}

TEST(StartDetachedTest, OneThatIsNotPlacedInTimeIsStoppedAndOneThatCouldNotStartIsAnError) {
  OneOffPod never;
  never.pending_ms = 1 << 30;
  OneOffOptions o;
  o.start_timeout_ms = 2000;
  auto r = StartDetached(never, OneOffJob(Release(), "x", {}, "n1"), o, [](const std::string&) {});
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(never.stopped.size(), 1u);
  OneOffPod broken;
  broken.pieces.clear();
  broken.end_state = "failed";
  broken.end_detail = "image pull failed: 404";
  broken.start_ms = 0;
  auto b = StartDetached(broken, OneOffJob(Release(), "x", {}, "n1"), o, [](const std::string&) {});
  EXPECT_EQ(b.status().code(), Status::Code::kInvalid);
  EXPECT_NE(b.status().message().find("image pull failed"), std::string::npos);
}

TEST(RunOneOffTest, PassesTheOutputOnAsItComesAndReturnsTheExitCodeThenStopsTheJob) {
  OneOffPod pod;
  pod.pieces = {"a\n", "b\n", "c\n"};
  pod.end_detail = "code 3";
  pod.end_state = "failed";
  Outcome r = RunIt(pod);
  ASSERT_TRUE(r.code.ok()) << r.code.status().ToString();
  EXPECT_EQ(*r.code, 3);
  EXPECT_EQ(r.out, "a\nb\nc\n");
  ASSERT_EQ(pod.stopped.size(), 1u);
  EXPECT_EQ(pod.stopped[0], pod.job.spec.id);
  bool said_host = false;
  for (const auto& l : r.progress) said_host = said_host || l.find("on h2") != std::string::npos;
  EXPECT_TRUE(said_host) << "it says where the command runs";
}

TEST(RunOneOffTest, TheOutputWrittenJustBeforeTheEndIsNotLost) {
  OneOffPod pod;
  pod.pieces = {"only\n"};
  pod.start_ms = 0;
  Outcome r = RunIt(pod);
  ASSERT_TRUE(r.code.ok());
  EXPECT_EQ(*r.code, 0);
  EXPECT_EQ(r.out, "only\n");
}

TEST(RunOneOffTest, AJobThatIsNeverPlacedTimesOutSayingWhyAndIsStopped) {
  OneOffPod pod;
  pod.pending_ms = 1 << 30;
  Outcome r = RunIt(pod);
  EXPECT_EQ(r.code.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.code.status().message().find("no host has 64 MB free"), std::string::npos) << r.code.status().message();
  EXPECT_EQ(pod.stopped.size(), 1u);
}

TEST(RunOneOffTest, AContainerThatCouldNotStartIsAnErrorNotAnExitCode) {
  OneOffPod pod;
  pod.pieces.clear();
  pod.end_state = "failed";
  pod.end_detail = "image pull failed: 404";
  Outcome r = RunIt(pod);
  EXPECT_EQ(r.code.status().code(), Status::Code::kInvalid);
  EXPECT_NE(r.code.status().message().find("image pull failed"), std::string::npos);
  EXPECT_EQ(pod.stopped.size(), 1u);
}

TEST(RunOneOffTest, ACommandThatRunsPastItsBoundIsStoppedSayingSo) {
  OneOffPod pod;
  pod.never_ends = true;
  Outcome r = RunIt(pod, [] { return false; }, 3000);
  EXPECT_EQ(r.code.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.code.status().message().find("did not finish within 3 s"), std::string::npos) << r.code.status().message();
  EXPECT_EQ(r.out, "line 1\nline 2\n") << "what it wrote until then";
  EXPECT_EQ(pod.stopped.size(), 1u);
}

TEST(RunOneOffTest, AnInterruptStopsTheJob) {
  OneOffPod pod;
  pod.never_ends = true;
  int polls = 0;
  Outcome r = RunIt(pod, [&] { return ++polls > 20; });
  EXPECT_EQ(r.code.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.code.status().message().find("interrupted"), std::string::npos);
  EXPECT_EQ(pod.stopped.size(), 1u);
}

}  // namespace
}  // namespace rv::deploy
