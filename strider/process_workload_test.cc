#include "strider/process_workload.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace rv::strider {
namespace {

class ProcessWorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rv-pw-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    opts_.log_dir = dir_.string();
    opts_.backoff_initial_ms = 50;
    opts_.backoff_max_ms = 400;
    opts_.stable_after_ms = 10000;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ProcessWorkload> Make() {
    return std::make_unique<ProcessWorkload>(opts_, [this](RunState s, const std::string& d) {
      states_.push_back(RunStateName(s));
      details_.push_back(d);
    });
  }
  static msg::JobSpec Spec(std::vector<std::string> cmd, const std::string& restart) {
    msg::JobSpec s;
    s.id = "job-1";
    s.command = std::move(cmd);
    s.restart = restart;
    return s;
  }
  // Polls until pred() or timeout; returns pred().
  template <typename P>
  bool PollUntil(ProcessWorkload& w, P pred, int timeout_ms = 5000) {
    int64_t end = MonotonicMs() + timeout_ms;
    while (!pred() && MonotonicMs() < end) {
      w.Poll(MonotonicMs());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
  int Count(const std::string& s) const { return static_cast<int>(std::count(states_.begin(), states_.end(), s)); }

  std::filesystem::path dir_;
  ProcessOptions opts_;
  std::vector<std::string> states_, details_;
};

TEST_F(ProcessWorkloadTest, RunsAndReportsExitCode) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/sh", "-c", "echo hello-$RV_JOB_ID; exit 3"}, "never"), {}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  EXPECT_EQ(states_, (std::vector<std::string>{"starting", "running", "exited"}));
  EXPECT_EQ(details_.back(), "code 3");
  std::ifstream log(w->log_path());
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "hello-job-1");
}

TEST_F(ProcessWorkloadTest, PassesConfigAndSecretsAsEnvironment) {
  auto w = Make();
  auto spec = Spec({"/bin/sh", "-c", "echo $A-$B"}, "never");
  spec.config = {{"A", "cfg"}};
  ASSERT_TRUE(w->Start(spec, {{"B", "sec"}}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  std::ifstream log(w->log_path());
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "cfg-sec");
}

TEST_F(ProcessWorkloadTest, OnFailureRestartsFailuresWithGrowingBackoff) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/false"}, "on-failure"), {}).ok());
  int64_t t0 = MonotonicMs();
  ASSERT_TRUE(PollUntil(*w, [&] { return w->restarts() >= 5; }));
  // Backoffs 50 + 100 + 200 + 400 + 400 (capped) before the 5th restart.
  EXPECT_GE(MonotonicMs() - t0, 1100);
  EXPECT_FALSE(w->done());
  EXPECT_EQ(w->next_backoff_ms(), 400);  // capped
  EXPECT_GE(Count("exited"), 5);
  w->Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  EXPECT_EQ(states_.back(), "stopped");
}

TEST_F(ProcessWorkloadTest, OnFailureDoesNotRestartSuccess) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/true"}, "on-failure"), {}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  EXPECT_EQ(w->restarts(), 0);
  EXPECT_EQ(details_.back(), "code 0");
}

TEST_F(ProcessWorkloadTest, AlwaysRestartsSuccess) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/true"}, "always"), {}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return w->restarts() >= 2; }));
  EXPECT_FALSE(w->done());
  w->Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
}

TEST_F(ProcessWorkloadTest, NeverDoesNotRestartFailure) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/false"}, "never"), {}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  w->Poll(MonotonicMs());
  EXPECT_EQ(w->restarts(), 0);
  EXPECT_EQ(details_.back(), "code 1");
}

TEST_F(ProcessWorkloadTest, ExecFailureIsFailedWithReason) {
  auto w = Make();
  EXPECT_FALSE(w->Start(Spec({"/nonexistent/binary"}, "never"), {}).ok());
  EXPECT_TRUE(w->done());
  EXPECT_EQ(states_.back(), "failed");
  EXPECT_NE(details_.back().find("No such file"), std::string::npos) << details_.back();
}

TEST_F(ProcessWorkloadTest, RejectsEmptyCommandAndUnknownPolicy) {
  auto w = Make();
  EXPECT_FALSE(w->Start(Spec({}, "never"), {}).ok());
  EXPECT_EQ(states_.back(), "failed");
  auto w2 = Make();
  EXPECT_FALSE(w2->Start(Spec({"/bin/true"}, "sometimes"), {}).ok());
}

TEST_F(ProcessWorkloadTest, GracefulStopWithSigterm) {
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/sleep", "30"}, "always"), {}).ok());
  pid_t pid = w->pid();
  ASSERT_GT(pid, 0);
  int64_t t0 = MonotonicMs();
  w->Stop(std::chrono::milliseconds(5000));
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  EXPECT_LT(MonotonicMs() - t0, 2000);  // SIGTERM was enough
  EXPECT_EQ(states_.back(), "stopped");
  EXPECT_NE(kill(pid, 0), 0);
  EXPECT_EQ(w->restarts(), 0);
}

TEST_F(ProcessWorkloadTest, StopEscalatesToSigkillAfterGrace) {
  auto w = Make();
  // Ignores SIGTERM, and so does its child in the same group.
  ASSERT_TRUE(w->Start(Spec({"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait"}, "always"), {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the trap be installed
  int64_t t0 = MonotonicMs();
  w->Stop(std::chrono::milliseconds(300));
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
  int64_t took = MonotonicMs() - t0;
  EXPECT_GE(took, 280);
  EXPECT_LT(took, 3000);
  EXPECT_EQ(states_.back(), "stopped");
}

TEST_F(ProcessWorkloadTest, StopDuringBackoffCancelsRestart) {
  auto w = Make();
  opts_.backoff_initial_ms = 10000;
  w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/false"}, "always"), {}).ok());
  ASSERT_TRUE(PollUntil(*w, [&] { return Count("exited") == 1; }));
  w->Stop(std::chrono::milliseconds(100));
  EXPECT_TRUE(w->done());
  EXPECT_EQ(states_.back(), "stopped");
}

TEST_F(ProcessWorkloadTest, LogIsBounded) {
  opts_.log_max_bytes = 1000;
  auto w = Make();
  ASSERT_TRUE(w->Start(Spec({"/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do echo 0123456789; i=$((i+1)); done; sleep 30"},
                            "never"), {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  w->Poll(MonotonicMs() + 2000);  // forces the periodic check
  EXPECT_LE(std::filesystem::file_size(w->log_path()), 1000u);
  EXPECT_TRUE(std::filesystem::exists(w->log_path() + ".1"));
  w->Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(PollUntil(*w, [&] { return w->done(); }));
}

TEST_F(ProcessWorkloadTest, DestructorKillsChild) {
  pid_t pid;
  {
    auto w = Make();
    ASSERT_TRUE(w->Start(Spec({"/bin/sleep", "30"}, "never"), {}).ok());
    pid = w->pid();
  }
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace rv::strider
