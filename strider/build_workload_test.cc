#include "strider/build_workload.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/clock.h"
#include "strider/dispatch_workload.h"
#include "strider/process_workload.h"

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

class Count : public WorkloadFactory {
 public:
  explicit Count(int* n) : n_(n) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec&, StateCallback) override {
    ++*n_;
    return nullptr;
  }

 private:
  int* n_;
};

msg::JobSpec BuildSpec() {
  build_job::BuildJob b;
  b.app = "acme/prod/web";
  b.number = 3;
  b.source = "sources/acme/prod/web@sha256:" + std::string(64, 'c');
  b.env["GREETING"] = "hello";
  return build_job::MakeBuildJobSpec(b, "t1");
}

class BuildWorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rv-buildwl-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    // A stand-in builder: records its argv and the env dir it was given.
    builder_ = (dir_ / "fake-builder").string();
    std::ofstream(builder_) << "#!/bin/sh\n"
                               "out=" << (dir_ / "ran").string() << "\n"
                               "printf '%s\\n' \"$@\" > $out\n"
                               "while [ $# -gt 0 ]; do [ \"$1\" = --env-dir ] && cat \"$2/GREETING\" > $out.env; shift; done\n"
                               "echo 'builder: result {}'\n";
    chmod(builder_.c_str(), 0755);
    o_.builder = builder_;
    o_.registry = "10.0.0.1:5000";
    o_.data_dir = dir_.string();
    o_.sauron_api = "tcp://10.0.0.1:7400";
    o_.sauron_public_key = std::string(40, 'k');
    o_.key_file = "/keys/h1.key";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::shared_ptr<WorkloadFactory> Processes() {
    ProcessOptions po;
    po.log_dir = (dir_ / "logs").string();
    return std::make_shared<ProcessWorkloadFactory>(po);
  }
  fs::path dir_;
  std::string builder_;
  BuildHostOptions o_;
};

TEST(DispatchWorkload, BuildJobsGoToTheBuildFactoryOrFailWithoutOne) {
  int procs = 0, builds = 0;
  DispatchWorkloadFactory f(std::make_shared<Count>(&procs), nullptr, "x");
  std::vector<std::string> seen;
  auto w = f.Create(BuildSpec(), [&](RunState, const std::string& d) { seen.push_back(d); });
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->Start(BuildSpec(), {}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "this host runs no builds");
  f.SetBuilds(std::make_shared<Count>(&builds));
  f.Create(BuildSpec(), nullptr);
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(procs, 0);
}

TEST_F(BuildWorkloadTest, RunsTheHostsBuilderNeverTheJobsCommandOrConfig) {
  msg::JobSpec s = BuildSpec();
  s.command = {"/bin/sh", "-c", "touch /tmp/pwned"};
  s.image = "evil/image:1";
  s.config["LD_PRELOAD"] = "/tmp/evil.so";
  auto p = BuilderProcessSpec(s, o_, "");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->command[0], builder_);
  EXPECT_EQ(p->command[1], "run");
  EXPECT_TRUE(p->image.empty());
  EXPECT_TRUE(p->config.empty());
  EXPECT_EQ(p->restart, "never");
  EXPECT_TRUE(p->env.empty());
  o_.builder = (dir_ / "missing").string();
  auto q = BuilderProcessSpec(s, o_, "");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("no builder on this host"), std::string::npos);
}

TEST_F(BuildWorkloadTest, RunsTheBuilderWithItsConfigVarsAsFilesAndRemovesThem) {
  BuildWorkloadFactory f(Processes(), o_);
  std::vector<std::pair<RunState, std::string>> seen;
  auto w = f.Create(BuildSpec(), [&](RunState st, const std::string& d) { seen.emplace_back(st, d); });
  ASSERT_TRUE(w->Start(BuildSpec(), {{"SECRET", "never"}}).ok());
  int64_t end = MonotonicMs() + 5000;
  while (!w->done() && MonotonicMs() < end) {
    w->Poll(MonotonicMs());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(w->done());
  EXPECT_EQ(w->state(), RunState::kExited);
  std::ifstream ran(dir_ / "ran"), env(dir_ / "ran.env");
  std::string args((std::istreambuf_iterator<char>(ran)), {}), greeting;
  std::getline(env, greeting);
  EXPECT_EQ(greeting, "hello");
  EXPECT_NE(args.find("--source-image\nsources/acme/prod/web@sha256:"), std::string::npos) << args;
  EXPECT_NE(args.find("--image\napps/acme/prod/web:b3\n"), std::string::npos) << args;
  EXPECT_NE(args.find("--report-job\nacme.prod.web.build.b3.t1\n"), std::string::npos) << args;
  EXPECT_EQ(args.find("SECRET"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "builds/env-acme.prod.web.build.b3.t1"));
}

TEST_F(BuildWorkloadTest, AHostileBuildJobFailsWithTheReasonAndRunsNothing) {
  BuildWorkloadFactory f(Processes(), o_);
  msg::JobSpec s = BuildSpec();
  s.config[build_job::kSource] = "sources/other/prod/web@sha256:" + std::string(64, 'c');
  std::vector<std::pair<RunState, std::string>> seen;
  auto w = f.Create(s, [&](RunState st, const std::string& d) { seen.emplace_back(st, d); });
  EXPECT_FALSE(w->Start(s, {}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, RunState::kFailed);
  EXPECT_NE(seen[0].second.find("build job refused: build source must be sources/acme/prod/web@sha256:"), std::string::npos)
      << seen[0].second;
  EXPECT_TRUE(w->done());
  EXPECT_FALSE(fs::exists(dir_ / "ran"));
  w->Stop(std::chrono::milliseconds(0));
  EXPECT_EQ(w->state(), RunState::kStopped);
}


TEST_F(BuildWorkloadTest, LeftoverConfigDirsOfAKilledStriderAreRemovedAtStartAndNothingElse) {
  fs::create_directories(dir_ / "builds/env-acme.prod.web.build.b3.t1");
  std::ofstream(dir_ / "builds/env-acme.prod.web.build.b3.t1/GREETING") << "hello";
  fs::create_directories(dir_ / "builds/env-other");
  fs::create_directories(dir_ / "outside/keep");
  fs::create_directory_symlink(dir_ / "outside", dir_ / "builds/env-link");
  fs::create_directories(dir_ / "builds/not-an-env-dir");
  EXPECT_EQ(RemoveLeftoverBuildEnvDirs(dir_.string()), 3);
  EXPECT_FALSE(fs::exists(dir_ / "builds/env-acme.prod.web.build.b3.t1"));
  EXPECT_FALSE(fs::exists(dir_ / "builds/env-other"));
  EXPECT_FALSE(fs::is_symlink(dir_ / "builds/env-link"));
  EXPECT_TRUE(fs::exists(dir_ / "outside/keep"));  // a link's target is never touched
  EXPECT_TRUE(fs::exists(dir_ / "builds/not-an-env-dir"));
  EXPECT_EQ(RemoveLeftoverBuildEnvDirs(dir_.string()), 0);
  EXPECT_EQ(RemoveLeftoverBuildEnvDirs((dir_ / "missing").string()), 0);
}

}  // namespace
}  // namespace rv::strider
