// End-to-end builds: the `builder` binary on the busybox stack in a private
// docker-registry, with small fixture buildpacks (a bin/build sh script per
// case). Needs root (runc, overlayfs, cgroups, netns). Each test has its own
// registry port, state dir and cgroup parent; TearDown stops the registry and
// removes the dirs; the builder itself must leave no mount, netns or cgroup.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "builder/output_filter.h"
#include "builder/unprivileged_run.h"
#include "common/oci/image_writer.h"
#include "strider/container/container.h"
#include "strider/container/test_util.h"

namespace rv::builder {
namespace fs = std::filesystem;
using container::testing::Sh;

namespace {

struct BuildRun {
  int rc = -1;
  std::string out;                 // stdout
  std::vector<std::string> lines;
  double seconds = 0;
  const std::string& last() const { return lines.back(); }
  nlohmann::json result() const {
    if (lines.empty() || last().rfind("builder: result ", 0) != 0) return nullptr;
    return nlohmann::json::parse(last().substr(16));
  }
  bool Has(const std::string& needle) const { return out.find(needle) != std::string::npos; }
};

}  // namespace

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    std::mt19937 rng(std::random_device{}());
    tag_ = std::to_string(getpid()) + "-" + std::to_string(rng() % 100000);
    dir_ = fs::temp_directory_path() / ("rvbt." + tag_);
    fs::create_directories(dir_);
    cgroup_parent_ = "/rvbt-" + tag_;
    int port = container::testing::FreePort();
    registry_pid_ = Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry start --dir " + (dir_ / "registry").string() +
                       " --port " + std::to_string(port) + " --addr 127.0.0.1");
    ASSERT_FALSE(registry_pid_.empty()) << "registry did not start";
    registry_ = "127.0.0.1:" + std::to_string(port);
    int rc = 0;
    Sh(std::string(RV_SOURCE_DIR) + "/scripts/stack-image --registry " + registry_ + " --rv-image " RV_IMAGE_BIN " 2>&1",
       &rc);
    ASSERT_EQ(rc, 0) << "stack-image failed";
    fs::create_directories(dir_ / "src");
    std::ofstream(dir_ / "src/index.html") << "<h1>hello</h1>\n";
  }

  void TearDown() override {
    if (!registry_pid_.empty()) Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry stop " + registry_pid_);
    // The builder must have cleaned up after itself; this only stops a failed test from leaking.
    // Processes in this test's own cgroup parent are builds this test started.
    Sh("cat /sys/fs/cgroup/pids" + cgroup_parent_ + "/*/c/tasks /sys/fs/cgroup/pids" + cgroup_parent_ +
       "/*/tasks 2>/dev/null | sort -u | xargs -r kill -9 2>/dev/null; sleep 0.2");
    for (const auto& id : ids_) Sh("ip netns delete " + id + " 2>/dev/null");
    for (auto& h : {"memory", "pids", "cpu"}) {
      std::string p = std::string("/sys/fs/cgroup/") + h + cgroup_parent_;
      if (fs::exists(p)) {
        leaked_cgroup_ = true;
        Sh("find " + p + " -depth -type d -exec rmdir {} + 2>/dev/null");
      }
    }
    Sh("for m in $(awk '$2 ~ \"^" + dir_.string() + "\" {print $2}' /proc/mounts | sort -r); do umount -l $m; done");
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A buildpacks dir whose bin/build is `script` (POSIX sh, run as
  // `sh bin/build /app /cache /env /out`).
  std::string Pack(const std::string& name, const std::string& script) {
    fs::path p = dir_ / ("bp-" + name);
    fs::create_directories(p / "bin");
    std::ofstream(p / "bin/build") << script;
    return p.string();
  }

  BuildRun Build(const std::string& pack, const std::string& extra = "", const std::string& state = "state") {
    BuildRun r;
    auto t0 = std::chrono::steady_clock::now();
    // A build job's builder gets --source-image instead of --source.
    std::string source = extra.find("--source-image") == std::string::npos ? " --source " + (dir_ / "src").string() : "";
    r.out = Sh(std::string(RV_BUILDER_BIN) + " run" + source +
                   " --app acme/prod/web --registry " + registry_ + " --image acme/prod/web:v1 --buildpacks " + pack +
                   " --state-dir " + (dir_ / state).string() + " --cgroup-parent " + cgroup_parent_ + " " + extra +
                   " 2>>" + (dir_ / "stderr").string(),
               &r.rc);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::istringstream in(r.out);
    std::string l;
    while (std::getline(in, l)) {
      r.lines.push_back(l);
      auto at = l.find("(rvbuild-");
      if (l.rfind("-----> Building ", 0) == 0 && at != std::string::npos)
        ids_.push_back(l.substr(at + 1, l.find(';', at) - at - 1));
    }
    if (r.lines.empty()) r.lines.push_back("");
    return r;
  }

  // Nothing of a build is left on the host.
  void ExpectNoDebris(const std::string& state = "state") {
    for (const auto& id : ids_) EXPECT_FALSE(fs::exists("/var/run/netns/" + id)) << "netns left behind: " << id;
    EXPECT_EQ(Sh("grep -c " + (dir_ / state).string() + " /proc/mounts || true"), "0");
    std::error_code ec;
    EXPECT_TRUE(!fs::exists(dir_ / state / "work") || fs::is_empty(dir_ / state / "work", ec));
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory" + cgroup_parent_)) << "cgroup left behind";
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids" + cgroup_parent_)) << "cgroup left behind";
  }

  oci::ResolvedImage Image(const std::string& ref) {
    oci::RegistryClient c({.registry = registry_});
    auto img = oci::ResolveImage(c, "acme/prod/web", ref);
    EXPECT_TRUE(img.ok()) << img.status().ToString();
    return img.ok() ? *img : oci::ResolvedImage{};
  }

  std::string tag_, registry_, registry_pid_, cgroup_parent_;
  fs::path dir_;
  bool leaked_cgroup_ = false;
  std::vector<std::string> ids_;  // build ids seen in this test's outputs
};

const char* kOkTail =
    "echo 'web: httpd -f -p $PORT -h /app' > $4/process-types\n"
    "echo 'worker: sleep 1000' >> $4/process-types\n"
    "echo fixture > $4/buildpacks\n";

TEST_F(BuilderTest, BuildsAnImageOfStackLayersPlusOneAppLayerWithItsProcessTypes) {
  std::string pack = Pack("ok", std::string("set -e\necho '-----> Fixture app detected'\n"
                                            "echo built > /app/built.txt\nmkdir -p /app/.rv/static\n"
                                            "echo serve > /app/.rv/static/serve\n") + kOkTail);
  BuildRun r = Build(pack);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("-----> Fixture app detected\n")) << r.out;
  auto j = r.result();
  ASSERT_FALSE(j.is_null()) << r.out;
  std::string digest = j["digest"];
  EXPECT_EQ(j["image"], "acme/prod/web@" + digest);
  EXPECT_EQ(j["process_types"]["web"], "httpd -f -p $PORT -h /app");
  EXPECT_EQ(j["buildpacks"], nlohmann::json::array({"fixture"}));
  EXPECT_GT(j["size_bytes"].template get<int64_t>(), 500000);  // the busybox stack is ~1 MB
  EXPECT_TRUE(r.Has("-----> Image acme/prod/web:v1: ")) << r.out;

  auto img = Image("v1");
  oci::RegistryClient c({.registry = registry_});
  auto stack = oci::ResolveImage(c, "stack/busybox", "latest");
  ASSERT_TRUE(stack.ok());
  ASSERT_EQ(img.manifest.layers.size(), stack->manifest.layers.size() + 1);
  for (size_t i = 0; i < stack->manifest.layers.size(); i++)
    EXPECT_EQ(img.manifest.layers[i].digest, stack->manifest.layers[i].digest);  // reused, not rebuilt
  EXPECT_EQ(img.manifest_digest, digest);
  EXPECT_EQ(img.config.entrypoint, (std::vector<std::string>{"/bin/sh", "/app/.rv/launch"}));
  EXPECT_EQ(img.config.cmd, (std::vector<std::string>{"httpd -f -p $PORT -h /app"}));
  EXPECT_EQ(img.config.working_dir, "/app");
  EXPECT_EQ(img.config.user, "10000:10000");
  EXPECT_EQ(nlohmann::json::parse(img.config.labels["rivendell.process-types"])["worker"], "sleep 1000");
  EXPECT_EQ(img.config.labels["rivendell.buildpacks"], "[\"fixture\"]");
  EXPECT_EQ(img.config.labels["rivendell.app"], "acme/prod/web");

  // The app layer holds /app (with the build's output and the launcher).
  std::string layer = (dir_ / "app.tgz").string();
  {
    int fd = open(layer.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_TRUE(c.FetchBlob("acme/prod/web", img.manifest.layers.back(), fd).ok());
    close(fd);
  }
  std::string list = Sh("tar -tzvf " + layer);
  EXPECT_NE(list.find("app/built.txt"), std::string::npos) << list;
  EXPECT_NE(list.find("app/index.html"), std::string::npos) << list;
  EXPECT_NE(list.find("app/.rv/launch"), std::string::npos) << list;
  EXPECT_NE(list.find("app/.rv/static/serve"), std::string::npos) << list;  // a pack's own .rv files stay
  EXPECT_NE(list.find("10000/10000"), std::string::npos) << list;

  // Unchanged source, same image: the same digest and nothing uploaded.
  BuildRun again = Build(pack);
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_EQ(again.result()["digest"], digest);
  EXPECT_TRUE(again.Has("nothing new pushed")) << again.out;
  EXPECT_TRUE(again.Has(": cached in ")) << again.out;  // the stack came from the local store
  ExpectNoDebris();
}

TEST_F(BuilderTest, BuiltImageRunsItsWebProcessOnTheStridersRuntime) {
  // A .profile.d script (run by launch) sets what the web process serves.
  std::string pack = Pack("web", std::string("mkdir -p /app/.profile.d /app/www\n"
                                             "echo 'echo from-profile > /tmp/index.html' > /app/.profile.d/a.sh\n") +
                                     "echo 'web: cd /tmp && httpd -f -p $PORT' > $4/process-types\n");
  BuildRun r = Build(pack);
  ASSERT_EQ(r.rc, 0) << r.out;
  std::string digest = r.result()["digest"];
  container::RuntimeOptions ro;
  ro.state_dir = (dir_ / "rt-state").string();
  ro.run_dir = (dir_ / "rt-run").string();
  ro.registry = registry_;
  ro.cgroup_parent = cgroup_parent_ + "-rt";
  ro.veth_pool = "10.248";
  auto rt = container::ContainerRuntime::Open(ro);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  msg::JobSpec job;
  job.id = "bt-" + tag_;
  job.image = "acme/prod/web@" + digest;
  job.port = 8080;
  job.health.http_path = "/index.html";
  job.restart = "never";
  std::atomic<bool> running{false};
  std::string why;
  std::mutex mu;
  {
    container::Container c(**rt, job, {}, [&](container::CState st, const std::string& d) {
      std::lock_guard<std::mutex> l(mu);
      if (st == container::CState::kRunning) running = true;
      why += std::string(container::CStateName(st)) + "(" + d + ") ";
    });
    ASSERT_TRUE(c.Start().ok());
    for (int i = 0; i < 300 && !running; i++) usleep(20000);
    {
      std::lock_guard<std::mutex> l(mu);
      ASSERT_TRUE(running) << why;
    }
    std::string body = Sh("curl -s --max-time 2 http://" + c.netns().container_ip + ":8080/index.html");
    EXPECT_EQ(body, "from-profile");
    c.Stop(std::chrono::milliseconds(500));
    EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  }
  (*rt)->GcContainers();
  rt->reset();
  umount2((dir_ / "rt-run").c_str(), MNT_DETACH);
  Sh("find /sys/fs/cgroup/*" + cgroup_parent_ + "-rt -depth -type d -exec rmdir {} + 2>/dev/null");
}

TEST_F(BuilderTest, RunsIsolatedUnprivilegedWithReadOnlyStackAndNoNetwork) {
  std::string pack = Pack("iso", std::string(
      "echo uid=$(id -u) gid=$(id -g)\n"
      "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status\n"
      "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ')\n"
      "echo ifaces=$(ls /sys/class/net | tr '\\n' ' ')\n"
      "echo hostname=$(hostname)\n"
      "for p in /app/a /cache/c /out/o /tmp/t /etc/x /x /bin/x /buildpacks/x /env/x /usr/x /var/x /root/x /sys/x /proc/x; do\n"
      "  if (echo x > $p) 2>/dev/null; then echo WROTE $p; else echo DENIED $p; fi\n"
      "done\n"
      "if echo x | nc -w 3 10.1.2.3 80 2>/tmp/err; then echo NET-OK; else echo NET-FAIL $(cat /tmp/err); fi\n"
      "if echo x | nc -w 3 ") + registry_.substr(0, registry_.find(':')) + " " + registry_.substr(registry_.find(':') + 1) +
      " 2>/tmp/err; then echo REG-OK; else echo REG-FAIL $(cat /tmp/err); fi\n" +
      "cat /proc/kcore >/dev/null 2>&1 && echo KCORE-READ || echo KCORE-MASKED\n" + kOkTail);
  BuildRun r = Build(pack);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("uid=10000 gid=10000")) << r.out;
  EXPECT_TRUE(r.Has("CapEff:\t0000000000000000")) << r.out;
  EXPECT_TRUE(r.Has("NoNewPrivs:\t1")) << r.out;
  EXPECT_TRUE(r.Has("pid1=/bin/sh /buildpacks/bin/build /app /cache /env /out")) << r.out;  // own PID namespace
  EXPECT_TRUE(r.Has("ifaces=lo\n")) << r.out;
  EXPECT_TRUE(r.Has("hostname=build")) << r.out;
  for (const char* p : {"/app/a", "/cache/c", "/out/o", "/tmp/t"}) EXPECT_TRUE(r.Has(std::string("WROTE ") + p)) << r.out;
  for (const char* p : {"/etc/x", "/x", "/bin/x", "/buildpacks/x", "/env/x", "/usr/x", "/var/x", "/root/x", "/sys/x", "/proc/x"})
    EXPECT_TRUE(r.Has(std::string("DENIED ") + p)) << r.out;
  EXPECT_TRUE(r.Has("NET-FAIL")) << r.out;
  EXPECT_TRUE(r.Has("Network is unreachable")) << r.out;
  EXPECT_TRUE(r.Has("REG-FAIL")) << r.out;  // the host's loopback is not the build's
  EXPECT_TRUE(r.Has("KCORE-MASKED")) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "bp-iso/x"));
  ExpectNoDebris();
}

TEST_F(BuilderTest, OutputStreamsAsItComesWhileTheLimitsAreInForce) {
  std::string pack = Pack("stream", std::string("echo first\nsleep 2\necho second\n") + kOkTail);
  std::string cmd = std::string(RV_BUILDER_BIN) + " run --source " + (dir_ / "src").string() +
                    " --app acme/prod/web --registry " + registry_ + " --image acme/prod/web:v1 --buildpacks " + pack +
                    " --state-dir " + (dir_ / "state").string() + " --cgroup-parent " + cgroup_parent_ +
                    " --memory-mb 300 --pids 100 --cpus 0.5 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  double first_at = -1, end_at = -1;
  std::string limits;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (std::string(buf) == "first\n") {
      first_at = t;
      // The running build's cgroups (ours and runc's child).
      std::string cg = Sh("ls -d /sys/fs/cgroup/memory" + cgroup_parent_ + "/rvbuild-* | head -1");
      std::string id = cg.substr(cg.rfind('/') + 1);
      limits = Sh("cat /sys/fs/cgroup/memory" + cgroup_parent_ + "/" + id + "/memory.limit_in_bytes") + " " +
               Sh("cat /sys/fs/cgroup/pids" + cgroup_parent_ + "/" + id + "/pids.max") + " " +
               Sh("cat /sys/fs/cgroup/cpu" + cgroup_parent_ + "/" + id + "/c/cpu.cfs_quota_us");
    }
    end_at = t;
  }
  EXPECT_EQ(pclose(p), 0);
  ASSERT_GE(first_at, 0);
  EXPECT_GT(end_at - first_at, 1.5) << "the first line came only at the end";
  EXPECT_EQ(limits, std::to_string(300 << 20) + " 100 50000");
  ExpectNoDebris();
}

TEST_F(BuilderTest, FailingBuildpackShowsItsMessageAndEndsWithAnErrorLine) {
  BuildRun r = Build(Pack("fail", "echo '-----> checking'\necho 'no buildpack detected this app: no index' >&2\nexit 3\n"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.Has("no buildpack detected this app: no index\n")) << r.out;
  EXPECT_EQ(r.last(), "builder: error build failed: the buildpacks exited with code 3");
  oci::RegistryClient c({.registry = registry_});
  EXPECT_EQ(c.GetManifest("acme/prod/web", "v1").status().code(), Status::Code::kNotFound);  // nothing pushed
  ExpectNoDebris();
}

TEST_F(BuilderTest, HangingBuildIsKilledAtTheTimeout) {
  BuildRun r = Build(Pack("hang", "echo started\nsleep 1000 &\nsleep 1000\n"), "--timeout-s 2");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.Has("started\n"));
  EXPECT_EQ(r.last(), "builder: error build timed out after 2 s");
  EXPECT_LT(r.seconds, 10);
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/pids" + cgroup_parent_ + "/*/tasks /sys/fs/cgroup/pids" + cgroup_parent_ +
               "/*/c/tasks 2>/dev/null | wc -l"),
            "0");  // no process of this test's builds
  ExpectNoDebris();
}

TEST_F(BuilderTest, MegabytesWithoutNewlinesAreCutAndTheTotalIsBounded) {
  BuildRun r = Build(Pack("flood", std::string("head -c 5000000 /dev/zero | tr '\\0' x\necho\necho after\n"
                                          "i=0; while [ $i -lt 3000 ]; do echo line $i of some filler text; i=$((i+1)); done\n") +
                    kOkTail),
                "--max-line-bytes 1000 --max-output-bytes 50000");
  ASSERT_EQ(r.rc, 0) << r.out.substr(0, 2000);
  EXPECT_TRUE(r.Has(std::string(1000, 'x') + std::string(kLineCutMarker) + "\n"));
  EXPECT_FALSE(r.Has(std::string(1001, 'x')));
  EXPECT_TRUE(r.Has("\nafter\n"));
  EXPECT_TRUE(r.Has(std::string(kTruncatedLine) + "\n"));
  EXPECT_FALSE(r.Has("line 2999 of"));
  EXPECT_LT(r.out.size(), 52000u);
  EXPECT_TRUE(r.last().rfind("builder: result ", 0) == 0);
  ExpectNoDebris();
}

TEST_F(BuilderTest, InvalidUtf8AndTerminalEscapesAreMadeSafe) {
  BuildRun r = Build(Pack("esc", std::string("printf '\\033]0;owned title\\007\\033[31mred\\033[0m \\377\\376 ok\\n'\n"
                                        "printf 'rm -rf /\\rls\\n'\nprintf '\\033[2J\\033[Hclear\\n'\nprintf 'bell\\007\\n'\n") +
                    kOkTail));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("red \xEF\xBF\xBD\xEF\xBF\xBD ok\n")) << r.out;
  EXPECT_TRUE(r.Has("rm -rf /\nls\n")) << r.out;
  EXPECT_TRUE(r.Has("\nclear\n")) << r.out;
  EXPECT_TRUE(r.Has("bell\xEF\xBF\xBD\n")) << r.out;
  for (unsigned char ch : r.out) EXPECT_TRUE(ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7F)) << int(ch);
  ExpectNoDebris();
}

TEST_F(BuilderTest, BuildEatingMemoryIsKilledWithAClearMessage) {
  // dd's 256 MB block buffer against a 64 MB limit.
  BuildRun r = Build(Pack("mem", "set -e\necho eating\ndd if=/dev/zero of=/dev/null bs=256M count=1\necho survived\n"),
                "--memory-mb 64");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.Has("eating\n"));
  EXPECT_EQ(r.last(), "builder: error build ran out of memory (limit 64 MB)") << r.out;
  ExpectNoDebris();
}

TEST_F(BuilderTest, ForkBombHitsThePidsLimitAndTheHostIsFine) {
  // Every process lives a while, so the tree fills the limit (a bomb whose
  // processes exit at once may hit it for a moment only). The script's own
  // shell forks nothing once the bomb runs: a shell whose fork fails exits
  // (code 2), which as the build's init would end the whole tree at once,
  // maybe between two of the builder's looks at the limit (seen in CI).
  BuildRun r = Build(Pack("bomb", "echo bombing\nsleep 2 & s=$!\nf() { f & f & sleep 3; }\nf &\nwait $s\nexit 1\n"),
                     "--pids 64 --timeout-s 20");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.last().find("it hit its process limit of 64"), std::string::npos) << r.last();
  int rc = -1;
  EXPECT_EQ(Sh("sh -c 'echo host-fine'", &rc), "host-fine");  // we can still fork
  ExpectNoDebris();
}

TEST_F(BuilderTest, BuildFillingTheDiskIsStoppedAtTheDiskLimit) {
  // Many files, each under the limit: the periodic size check stops it.
  BuildRun r = Build(Pack("disk", "set -e\ni=0\nwhile [ $i -lt 40 ]; do dd if=/dev/zero of=/cache/f$i bs=1M count=1 2>/dev/null; "
                                  "i=$((i+1)); done\nsleep 5\n"),
                     "--disk-mb 16");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.last(), "builder: error build used more than its disk limit of 16 MB in /app, /cache and /out") << r.out;
  // One file over the limit: RLIMIT_FSIZE stops the write itself.
  BuildRun big = Build(Pack("bigfile", "set -e\ndd if=/dev/zero of=/app/big bs=1M count=40\n"), "--disk-mb 16");
  EXPECT_EQ(big.rc, 1);
  EXPECT_EQ(big.last(), "builder: error build wrote a file larger than its disk limit of 16 MB") << big.out;
  ExpectNoDebris();
}

TEST_F(BuilderTest, BuildOfABuilderKilledHardIsCleanedUpByTheNextBuild) {
  std::string pack = Pack("orphan", "echo started\nsleep 1000\n");
  std::string cmd = std::string(RV_BUILDER_BIN) + " run --source " + (dir_ / "src").string() +
                    " --app acme/prod/web --registry " + registry_ + " --image acme/prod/web:v1 --buildpacks " + pack +
                    " --state-dir " + (dir_ / "state").string() + " --cgroup-parent " + cgroup_parent_ +
                    " > " + (dir_ / "orphan.out").string() + " 2>&1 & echo $!";
  std::string pid = Sh(cmd);
  ASSERT_FALSE(pid.empty());
  // Up to 60 s: the stack pull and container start are slow on a loaded machine.
  for (int i = 0; i < 1200 && Sh("grep -c started " + (dir_ / "orphan.out").string()) != "1"; i++) usleep(50000);
  ASSERT_EQ(Sh("grep -c started " + (dir_ / "orphan.out").string()), "1");
  Sh("kill -9 " + pid);
  usleep(300000);
  // Debris, for now. A builder of another test running at the same time may
  // clean it first (a dead builder's netns is anyone's to collect), so the
  // next build here either reports the clean-up or finds nothing to do.
  bool debris = Sh("ip netns list | grep -c rvbuild-" + pid + "- || true") == "1";
  BuildRun r = Build(Pack("after", kOkTail));
  ASSERT_EQ(r.rc, 0) << r.out;
  if (debris && !r.Has("-----> Cleaned up 1 build(s) left by a builder that died")) {
    std::printf("[ note     ] the dead build's debris was collected by another builder first\n");
  }
  EXPECT_EQ(Sh("ip netns list | grep -c rvbuild-" + pid + "- || true"), "0");
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/pids" + cgroup_parent_ + "/*/tasks /sys/fs/cgroup/pids" + cgroup_parent_ +
               "/*/c/tasks 2>/dev/null | wc -l"),
            "0");  // no process of this test's builds
  ExpectNoDebris();
}

TEST_F(BuilderTest, BuildFilesNeverLeadTheBuilderOutOfTheWorkDir) {
  // A source .rv symlink to a host dir, and out/ files that are symlinks to host files.
  fs::create_directory_symlink(dir_ / "victim", dir_ / "src/.rv");
  fs::create_directories(dir_ / "victim");
  fs::create_directories(dir_ / "victim2");
  BuildRun r = Build(Pack("links", std::string(kOkTail) + "rm -f $4/buildpacks; ln -s /etc/shadow $4/buildpacks\n"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.last().find("out/buildpacks is not a regular file"), std::string::npos) << r.last();
  BuildRun ok = Build(Pack("links2", kOkTail));
  EXPECT_EQ(ok.rc, 0) << ok.out;
  EXPECT_TRUE(fs::is_empty(dir_ / "victim")) << "launch written through the source's .rv symlink";
  // The build makes .rv/launch a symlink to a host path (dangling in the container).
  BuildRun ok2 = Build(Pack("links3", std::string(kOkTail) + "rm -rf /app/.rv; mkdir /app/.rv; ln -s " +
                                          (dir_ / "victim2/launch").string() + " /app/.rv/launch\n"));
  EXPECT_EQ(ok2.rc, 0) << ok2.out;
  EXPECT_FALSE(fs::exists(dir_ / "victim2/launch")) << "launch written through the build's symlink";
  ExpectNoDebris();
}

TEST_F(BuilderTest, ConfigVarsAreFilesInEnvNotInTheEnvironmentNorOnDisk) {
  std::string marker = "s3cr3t-" + tag_;
  fs::create_directories(dir_ / "envdir");
  { std::ofstream(dir_ / "envdir/API_TOKEN") << marker; }
  chmod((dir_ / "envdir/API_TOKEN").c_str(), 0600);  // root's: the build still reads its copy
  { std::ofstream(dir_ / "envdir/not-a-var") << "x"; }
  BuildRun r = Build(Pack("env", std::string("ls /env\n[ \"$(cat /env/API_TOKEN)\" = \"") + marker +
                                     "\" ] && echo TOKEN-READABLE\n"
                                     "env | grep -c " + marker + " || true\n" + kOkTail),
                     "--env-dir " + (dir_ / "envdir").string() + " --keep-work");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("TOKEN-READABLE")) << r.out;
  EXPECT_TRUE(r.Has("\n0\n")) << r.out;  // not in the build's environment
  EXPECT_TRUE(r.Has("skipping not-a-var in the env dir")) << r.out;
  EXPECT_FALSE(r.Has(marker)) << r.out;
  // Kept work dir (the env tmpfs is unmounted), state, registry: no marker anywhere.
  EXPECT_EQ(Sh("grep -r -l -a " + marker + " " + (dir_ / "state").string() + " " + (dir_ / "registry").string() +
               " | wc -l"),
            "0");
}

TEST_F(BuilderTest, SigtermCancelsTheBuildAndCleansUp) {
  std::string pack = Pack("cancel", "echo started\nsleep 1000\n");
  std::string out = (dir_ / "cancel.out").string();
  std::string pid = Sh(std::string(RV_BUILDER_BIN) + " run --source " + (dir_ / "src").string() +
                       " --app acme/prod/web --registry " + registry_ + " --image acme/prod/web:v1 --buildpacks " + pack +
                       " --state-dir " + (dir_ / "state").string() + " --cgroup-parent " + cgroup_parent_ + " > " + out +
                       " 2>&1 & echo $!");
  for (int i = 0; i < 200 && Sh("grep -c started " + out) != "1"; i++) usleep(50000);
  ASSERT_EQ(Sh("grep -c started " + out), "1");
  Sh("kill -TERM " + pid);
  for (int i = 0; i < 200 && fs::exists("/proc/" + pid) && Sh("grep -c 'builder: error' " + out) != "1"; i++) usleep(50000);
  usleep(200000);
  EXPECT_EQ(Sh("tail -1 " + out), "builder: error build cancelled (the builder was asked to stop)");
  ids_.push_back(Sh("grep -o 'rvbuild-[0-9]*-[0-9a-f]*' " + out + " | head -1"));
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/pids" + cgroup_parent_ + "/*/tasks /sys/fs/cgroup/pids" + cgroup_parent_ +
               "/*/c/tasks 2>/dev/null | wc -l"),
            "0");  // no process of this test's builds
  ExpectNoDebris();
}

TEST_F(BuilderTest, CacheDirPersistsBetweenBuilds) {
  std::string pack = Pack("cache", std::string("n=$(cat /cache/n 2>/dev/null || echo 0)\necho cache-had=$n\n"
                                               "echo $((n+1)) > /cache/n\n") + kOkTail);
  std::string cache = (dir_ / "cache").string();
  EXPECT_TRUE(Build(pack, "--cache " + cache).Has("cache-had=0"));
  EXPECT_TRUE(Build(pack, "--cache " + cache).Has("cache-had=1"));
  EXPECT_TRUE(Build(pack).Has("cache-had=0"));  // without --cache nothing is kept
}

TEST_F(BuilderTest, CacheInTheRegistryReachesABuildOnAnotherHost) {
  std::string pack = Pack("rcache", std::string("n=$(cat /cache/n 2>/dev/null || echo 0)\necho cache-had=$n\n"
                                                "echo $((n+1)) > /cache/n\nmkdir -p /cache/deps; echo dep > /cache/deps/a\n") +
                                        kOkTail);
  BuildRun a = Build(pack, "--cache-repo cache/acme/prod/web", "host-a");
  ASSERT_EQ(a.rc, 0) << a.out;
  EXPECT_TRUE(a.Has("cache-had=0")) << a.out;
  EXPECT_TRUE(a.Has("-----> Build cache: none in cache/acme/prod/web yet")) << a.out;
  // Another state dir is another host: nothing local, the cache comes from the registry.
  BuildRun b = Build(pack, "--cache-repo cache/acme/prod/web", "host-b");
  ASSERT_EQ(b.rc, 0) << b.out;
  EXPECT_TRUE(b.Has("cache-had=1")) << b.out;
  EXPECT_TRUE(b.Has("-----> Build cache: restored ")) << b.out;
  auto jb = b.result();
  std::cout << "cache pull " << jb["steps"]["cache_pull"] << " s, push " << jb["steps"]["cache_push"] << " s\n";
  // A failed build does not overwrite the cache.
  BuildRun c = Build(Pack("rcache-fail", "echo 99 > /cache/n\nexit 1\n"), "--cache-repo cache/acme/prod/web", "host-c");
  EXPECT_EQ(c.rc, 1);
  BuildRun d = Build(pack, "--cache-repo cache/acme/prod/web", "host-d");
  EXPECT_TRUE(d.Has("cache-had=2")) << d.out;
}

TEST_F(BuilderTest, ACacheFromTheRegistryIsTrustedNoMoreThanTheBuild) {
  // Someone with registry access planted a cache holding a root-owned setuid file.
  fs::create_directories(dir_ / "evil-cache");
  { std::ofstream(dir_ / "evil-cache/suid") << "#!/bin/sh\n"; }
  chmod((dir_ / "evil-cache/suid").c_str(), 04755);
  oci::RegistryClient c({.registry = registry_});
  oci::PushDirOptions po;
  po.repo = "cache/acme/prod/web";
  po.tag = "latest";
  po.layer.uid = po.layer.gid = -1;
  po.tmp_dir = dir_.string();
  ASSERT_TRUE(oci::PushDir(c, (dir_ / "evil-cache").string(), po).ok());
  BuildRun r = Build(Pack("evil", std::string("ls -ln /cache/suid\n") + kOkTail), "--cache-repo cache/acme/prod/web");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("-rwxr-xr-x    1 10000    10000")) << r.out;  // owner the build's, setuid gone
  // A cache image that is not one layer is not used, and the build goes on.
  po.base = "stack/busybox:latest";
  ASSERT_TRUE(oci::PushDir(c, (dir_ / "evil-cache").string(), po).ok());
  BuildRun r2 = Build(Pack("evil2", kOkTail), "--cache-repo cache/acme/prod/web", "state2");
  EXPECT_EQ(r2.rc, 0) << r2.out;
  EXPECT_TRUE(r2.Has("-----> Build cache: not used (build cache cache/acme/prod/web is not one layer)")) << r2.out;
}

TEST_F(BuilderTest, BadArgumentsFailBeforeAnythingRuns) {
  std::string pack = Pack("never", "echo RAN\n");
  BuildRun r = Build(pack, "--app ../../x");
  EXPECT_NE(r.rc, 0);
  EXPECT_FALSE(r.Has("RAN"));
  BuildRun r2 = Build(pack, "--stack stack/nope:latest");
  EXPECT_EQ(r2.rc, 1);
  EXPECT_NE(r2.last().find("stack stack/nope:latest"), std::string::npos) << r2.last();
}

TEST_F(BuilderTest, ASourceImageIsFetchedByDigestAndBuiltLikeATree) {
  // What rv-deploy pushes for a build job: the tree as a one-layer image.
  fs::create_directories(dir_ / "job-src/.git");
  std::ofstream(dir_ / "job-src/marker") << "from-the-registry\n";
  std::ofstream(dir_ / "job-src/.git/config") << "x\n";
  oci::RegistryClient c({.registry = registry_});
  oci::PushDirOptions po;
  po.repo = "sources/acme/prod/web";
  po.tag = "b1";
  po.tmp_dir = dir_.string();
  auto pushed = oci::PushDir(c, (dir_ / "job-src").string(), po);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  std::string pack = Pack("src", std::string("cat /app/marker; ls -a /app | tr '\\n' ' '; echo; ls -ln /app/marker\n") + kOkTail);
  BuildRun r = Build(pack, "--source-image sources/acme/prod/web@" + pushed->manifest_digest);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("-----> Source " + pushed->manifest_digest.substr(7, 12) + ": ")) << r.out;
  EXPECT_TRUE(r.Has("from-the-registry")) << r.out;
  EXPECT_FALSE(r.Has(".git")) << r.out;                   // as for --source: the top-level .git stays out
  EXPECT_TRUE(r.Has(" 10000    10000 ")) << r.out;        // owned by the build user
  EXPECT_TRUE(r.result()["steps"].contains("source_pull")) << r.last();
  ExpectNoDebris();
  // A digest the registry does not have, a tag, or both sources: nothing runs.
  BuildRun missing = Build(pack, "--source-image sources/acme/prod/web@sha256:" + std::string(64, '0'), "state-m");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.last().find("builder: error build source sources/acme/prod/web"), std::string::npos) << missing.last();
  EXPECT_FALSE(missing.Has("from-the-registry"));
  BuildRun tag = Build(pack, "--source-image sources/acme/prod/web:b1", "state-t");
  EXPECT_NE(tag.rc, 0);
  EXPECT_NE(tag.last().find("must be REPO@sha256"), std::string::npos) << tag.last();
  BuildRun both = Build(pack, "--source-image sources/acme/prod/web@" + pushed->manifest_digest + " --source /tmp", "state-b");
  EXPECT_EQ(both.rc, 2) << both.out;
  ExpectNoDebris("state-m");
}

TEST_F(BuilderTest, AutoStackIsChosenAsTheBuildUserFromTheSource) {
  const std::string packs = std::string(RV_SOURCE_DIR) + "/buildpacks";
  BuildRun r = Build(packs, "--stack auto");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Has("-----> Stack stack/busybox:latest chosen for the static buildpack")) << r.out;
  // .buildpacks pointing at a root-only file: read as the build user, so its
  // content never reaches the output (as root the driver would quote it).
  fs::path secret = dir_ / "root-only";
  std::ofstream(secret) << "secret-" << tag_ << "\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(secret, dir_ / "src/.buildpacks");
  BuildRun r2 = Build(packs, "--stack auto");
  EXPECT_EQ(r2.rc, 1);
  EXPECT_EQ(r2.last(), "builder: error .buildpacks names no buildpack") << r2.out;
  EXPECT_FALSE(r2.Has("secret-" + tag_)) << r2.out;
  fs::remove(dir_ / "src/.buildpacks");
  // A Python app takes stack/python, which this registry lacks: the error says how to add it.
  std::ofstream(dir_ / "src/app.py") << "print('hi')\n";
  BuildRun r3 = Build(packs, "--stack auto");
  EXPECT_EQ(r3.rc, 1);
  EXPECT_TRUE(r3.Has("-----> Stack stack/python:latest chosen for the python buildpack")) << r3.out;
  EXPECT_NE(r3.last().find("is not in the registry " + registry_ + "; add it with: scripts/stack-image --python"),
            std::string::npos)
      << r3.last();
  ExpectNoDebris();
}

TEST(UnprivilegedRun, RunsAsTheGivenUserWithoutGroups) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  UnprivilegedCommand c;
  c.argv = {"/bin/sh", "-c", "id -u; id -G; echo err >&2; pwd"};
  c.env = {"PATH=/usr/bin:/bin"};
  c.uid = 10000;
  c.gid = 10001;
  auto r = RunUnprivileged(c);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "10000\n10001\nerr\n/\n");
  c.uid = 0;
  EXPECT_FALSE(RunUnprivileged(c).ok());
}

TEST(UnprivilegedRun, ATimeoutKillsTheCommandAndWhatItStarted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  UnprivilegedCommand c;
  c.argv = {"/bin/sh", "-c", "sleep 30 & echo $!; exec sleep 31"};
  c.env = {"PATH=/usr/bin:/bin"};
  c.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunUnprivileged(c);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  int bg = atoi(r->output.c_str());
  ASSERT_GT(bg, 1) << r->output;
  bool gone = false;
  for (int i = 0; i < 20 && !gone; i++, usleep(50 * 1000)) {
    std::string st = Sh("awk '/^State:/ {print $2}' /proc/" + std::to_string(bg) + "/status 2>/dev/null");
    gone = st.empty() || st == "Z";
  }
  EXPECT_TRUE(gone) << "the background sleep (pid " << bg << ") outlived the timeout";
}

TEST(UnprivilegedRun, OutputBeyondTheCapIsDroppedAndTheCommandFinishes) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  UnprivilegedCommand c;
  c.argv = {"/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; echo; exit 3"};
  c.env = {"PATH=/usr/bin:/bin"};
  c.max_output_bytes = 1000;
  auto r = RunUnprivileged(c);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->output.size(), 1000u);
}

}  // namespace rv::builder
