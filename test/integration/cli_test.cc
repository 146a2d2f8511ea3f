// The operator's path: scripts/pod up, the rv CLI, scripts/pod down — as a
// person would run them, with real processes.
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/config.h"
#include "common/transport/test_ports.h"
#include "test/integration/pod_harness.h"
#include "test/integration/shell.h"

namespace rv::test {
namespace {

namespace fs = std::filesystem;

using rv::test::Output;
using rv::test::Sh;

std::string Line(const std::string& text, const std::string& prefix) {
  size_t pos = text.find("\n" + prefix);
  if (pos == std::string::npos) return "";
  size_t end = text.find('\n', pos + 1);
  return text.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1) + " ";
}

// Not derived from __FILE__: ccache (CCACHE_BASEDIR, scripts/test) makes that relative.
std::string RepoRoot() { return RV_REPO_ROOT; }
std::string BuildDir() { return fs::path(RV_RV_BIN).parent_path().parent_path().string(); }

class PodScript : public PodHarness {
 protected:
  void SetUp() override {
    PodHarness::SetUp();
    pod_dir_ = dir_ + "/pod";
    // scripts/pod listens on base, base+1, base+10 and (its registry) base+20.
    base_port_ = transport::ReserveTestPorts(21);
    ASSERT_NE(base_port_, 0) << "no free block of test ports under /tmp/rv-test-ports";
    // Only the busybox stack: the python one is for git pushes (pod_git_push).
    script_ = "RV_POD_STACKS=busybox RV_BUILD=" + BuildDir() + " " + RepoRoot() + "/scripts/pod";
    rv_ = std::string(RV_RV_BIN) + " --pod " + pod_dir_ + "/pod.json";
  }
  void TearDown() override {
    Sh(script_ + " down --dir " + pod_dir_);  // kills exactly what `up` started
    PodHarness::TearDown();
  }
  std::string pod_dir_, script_, rv_;
  int base_port_ = 0;
};

TEST_F(PodScript, UpSubmitStopDown) {
  Output up = Sh(script_ + " up --hosts 3 --dir " + pod_dir_ + " --base-port " + std::to_string(base_port_));
  ASSERT_EQ(up.code, 0) << up.text;
  EXPECT_NE(up.text.find("3 hosts up"), std::string::npos) << up.text;
  for (const char* f : {"pod.json", "keys/admin.key", "keys/h3.key", "pids/sauron.pid", "pids/strider-h2.pid"}) {
    EXPECT_TRUE(fs::exists(pod_dir_ + "/" + f)) << f;
  }

  Output hosts = Sh(rv_ + " hosts");
  ASSERT_EQ(hosts.code, 0) << hosts.text;
  EXPECT_NE(hosts.text.find("HOST"), std::string::npos);
  EXPECT_NE(hosts.text.find("role=build"), std::string::npos) << hosts.text;

  Output sub = Sh(rv_ + " submit --service web --replicas 3 --ha --ram-mb 32 -- /bin/sleep 1000");
  ASSERT_EQ(sub.code, 0) << sub.text;
  EXPECT_EQ(sub.text, "web-1\nweb-2\nweb-3\n");
  auto running = [&](int want) {
    Output ps = Sh(rv_ + " ps");
    int n = 0;
    for (size_t pos = 0; (pos = ps.text.find(" running", pos)) != std::string::npos; ++pos) ++n;
    return n == want;
  };
  ASSERT_TRUE(WaitFor([&] { return running(3); }, 20000)) << Sh(rv_ + " jobs").text;

  Output build = Sh(rv_ + " submit --service compile --constraint role=build -- /bin/sleep 1000");
  ASSERT_EQ(build.code, 0) << build.text;
  ASSERT_TRUE(WaitFor([&] { return running(4); }, 20000)) << Sh(rv_ + " jobs").text;
  Output jobs = Sh(rv_ + " jobs");
  std::string compile_line = Line(jobs.text, "compile-1");
  EXPECT_NE(compile_line.find(" placed "), std::string::npos) << jobs.text;
  EXPECT_NE(compile_line.find(" h1 "), std::string::npos) << jobs.text;

  std::string web1 = Line(jobs.text, "web-1 ");
  auto pid_at = web1.find("(pid ");
  ASSERT_NE(pid_at, std::string::npos) << jobs.text;
  pid_t pid = std::stoi(web1.substr(pid_at + 5));
  ASSERT_EQ(kill(pid, 0), 0);
  Output stop = Sh(rv_ + " stop web-1");
  ASSERT_EQ(stop.code, 0) << stop.text;
  // The strider hears it on the change stream and stops the process.
  ASSERT_TRUE(WaitFor([&] { return kill(pid, 0) != 0; }, 10000)) << Sh(rv_ + " jobs").text;
  EXPECT_NE(Line(Sh(rv_ + " jobs").text, "web-1 ").find(" stopped "), std::string::npos);

  Output events = Sh(rv_ + " events --limit 1000");
  ASSERT_EQ(events.code, 0) << events.text;
  EXPECT_NE(events.text.find("job.placed"), std::string::npos) << events.text;
  Output follow = Sh(rv_ + " events -f --limit 0 --wait-ms 300");
  EXPECT_EQ(follow.code, 0) << follow.text;
  EXPECT_EQ(Sh(rv_ + " counters").code, 0);

  Output status = Sh(script_ + " status --dir " + pod_dir_);
  EXPECT_NE(status.text.find("strider-h3: running"), std::string::npos) << status.text;
  // sauron, elrond, 3 striders; as root (namespace hosts) also an overlayd per
  // host; the edge (rv-edge) where haproxy is installed (docs/PROXY.md).
  bool netns = fs::exists(pod_dir_ + "/net.env");
  bool edge = fs::exists("/usr/sbin/haproxy");
  int daemons = (netns ? 8 : 5) + (edge ? 1 : 0);
  if (edge) {
    EXPECT_NE(status.text.find("edge: running"), std::string::npos) << status.text;
  }
  if (netns) {
    EXPECT_NE(status.text.find("overlayd-h3: running"), std::string::npos) << status.text;
  }
  auto cfg = LoadPodConfig(pod_dir_ + "/pod.json");
  ASSERT_TRUE(cfg.ok());
  Output down = Sh(script_ + " down --dir " + pod_dir_);
  ASSERT_EQ(down.code, 0) << down.text;
  EXPECT_NE(down.text.find("stopped " + std::to_string(daemons) + " processes"), std::string::npos) << down.text;
  EXPECT_FALSE(fs::exists(pod_dir_ + "/net.env")) << "down leaves the namespace layout recorded";

  // Sauron is gone now: a clear error and a non-zero exit.
  Output gone = Sh(rv_ + " --timeout-ms 500 hosts");
  EXPECT_NE(gone.code, 0);
  EXPECT_NE(gone.text.find("cannot reach sauron at " + cfg->sauron.api), std::string::npos) << gone.text;
  std::string port_suffix = ":";  // built piecewise: GCC 12 -O3 warns (-Wrestrict) on ":" + to_string
  port_suffix += std::to_string(base_port_);
  EXPECT_NE(cfg->sauron.api.find(port_suffix), std::string::npos) << cfg->sauron.api;
}

TEST_F(PodScript, CliRejectsBadInput) {
  EXPECT_EQ(Sh(std::string(RV_RV_BIN) + " --pod /nonexistent/pod.json hosts").code, 1);
  EXPECT_NE(Sh(std::string(RV_RV_BIN) + " --pod /nonexistent/pod.json hosts").text.find("cannot read pod config"),
            std::string::npos);
  EXPECT_NE(Sh(std::string(RV_RV_BIN) + " submit --service x").code, 0);  // no command
  EXPECT_NE(Sh(std::string(RV_RV_BIN) + " frobnicate").code, 0);
  std::string key = dir_ + "/k.key";
  EXPECT_EQ(Sh(std::string(RV_RV_BIN) + " keygen " + key).code, 0);
  EXPECT_TRUE(fs::exists(key + ".pub"));
  Output again = Sh(std::string(RV_RV_BIN) + " keygen " + key);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.text.find("exists"), std::string::npos);
}

}  // namespace
}  // namespace rv::test
