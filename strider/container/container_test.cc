// End-to-end container tests: a private docker-registry on a free port, the
// busybox stack from scripts/stack-image, runc, overlayfs, netns. Need root.
// Each test gets its own state dir, tmpfs run dir, cgroup parent and job ids,
// and TearDown removes containers, mounts, netns and the registry even when
// the test failed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <functional>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/crypto/sha256.h"
#include "common/oci/image_writer.h"
#include "strider/container/container.h"
#include "strider/container/container_workload.h"
#include "strider/container/netns_generation.h"
#include "strider/container/test_util.h"
#include "common/testing/installed.h"

namespace rv::container {
namespace fs = std::filesystem;
using testing::Sh;
using testing::TarEntry;
using testing::WriteTar;

namespace {

struct Recorder {
  std::mutex mu;
  std::vector<std::pair<CState, std::string>> events;
  void operator()(CState s, const std::string& d) {
    std::lock_guard<std::mutex> l(mu);
    events.emplace_back(s, d);
  }
  // Waits until an event with state s (and detail containing `needle`) arrives.
  bool WaitFor(CState s, const std::string& needle = "", int timeout_ms = 20000, std::string* detail = nullptr) {
    for (int i = 0; i < timeout_ms / 10; i++) {
      {
        std::lock_guard<std::mutex> l(mu);
        for (auto& [st, d] : events)
          if (st == s && d.find(needle) != std::string::npos) {
            if (detail) *detail = d;
            return true;
          }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string Dump() {
    std::lock_guard<std::mutex> l(mu);
    std::string s;
    for (auto& [st, d] : events) s += std::string(CStateName(st)) + "(" + d + ") ";
    return s;
  }
};

// A TCP proxy in front of the registry that passes at most `budget` bytes of
// answers per connection and then holds the connection open without sending
// more: a pull through it stops in the middle of a blob, as one a crash cuts.
class StallingProxy {
 public:
  StallingProxy(int upstream_port, size_t budget) : upstream_(upstream_port), budget_(budget) {
    port_ = testing::FreePort();
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = Loopback(port_);
    ok_ = bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(lfd_, 16) == 0;
    if (ok_) accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~StallingProxy() {
    stop_ = true;
    if (accept_.joinable()) accept_.join();
    for (auto& t : conns_) t.join();
    close(lfd_);
  }
  bool ok() const { return ok_; }
  int port() const { return port_; }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{lfd_, POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      int c = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) conns_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(upstream_);
    size_t left = budget_;
    if (connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      char buf[16384];
      while (!stop_) {
        pollfd p[2] = {{c, POLLIN, 0}, {u, static_cast<short>(left > 0 ? POLLIN : 0), 0}};
        if (poll(p, 2, 50) <= 0) continue;
        if (p[0].revents & (POLLIN | POLLHUP)) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0 || write(u, buf, n) != n) break;
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
          ssize_t n = read(u, buf, std::min(sizeof buf, left));
          if (n <= 0 || write(c, buf, n) != n) break;
          left -= n;  // at 0: upstream is no longer read, the client waits
        }
      }
    }
    close(u);
    close(c);
  }

  int upstream_, port_ = 0, lfd_ = -1;
  size_t budget_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::vector<std::thread> conns_;
};

// Runs fn in a child process (a strider that will crash); the child exits
// when fn returns.
pid_t InChild(const std::function<void()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  return pid;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Every blob of an image store is whole: its content hashes to its name.
std::vector<std::string> BlobsNotMatchingTheirName(const std::string& root) {
  std::vector<std::string> bad;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(root + "/blobs/sha256", ec)) {
    auto d = crypto::Sha256File(e.path().string());
    if (!d.ok() || *d != "sha256:" + e.path().filename().string()) bad.push_back(e.path().filename().string());
  }
  return bad;
}

}  // namespace

class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(rv::testing::Installed({"runc", "curl"}));
    std::mt19937 rng(std::random_device{}());
    tag_ = std::to_string(getpid()) + "-" + std::to_string(rng() % 100000);
    dir_ = fs::temp_directory_path() / ("rvct." + tag_);
    fs::create_directories(dir_);
    port_ = testing::FreePort();
    reg_dir_ = (dir_ / "registry").string();
    registry_pid_ = Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry start --dir " + reg_dir_ + " --port " +
                       std::to_string(port_));
    ASSERT_FALSE(registry_pid_.empty()) << "registry did not start";
    registry_ = "127.0.0.1:" + std::to_string(port_);
    int rc = 0;
    Sh(std::string(RV_SOURCE_DIR) + "/scripts/stack-image --registry " + registry_ + " --rv-image " RV_IMAGE_BIN +
           " 2>&1",
       &rc);
    ASSERT_EQ(rc, 0) << "stack-image failed";
    oci::RegistryClient::Options co;
    co.registry = registry_;
    client_ = std::make_unique<oci::RegistryClient>(co);
    // Capture our own log lines: the secrets test greps them.
    log_sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_stream_);
    spdlog::default_logger()->sinks().push_back(log_sink_);
  }

  void TearDown() override {
    containers_.clear();  // stops (grace 0) and tears down every container
    if (rt_) {
      rt_->GcContainers();
      rt_.reset();
    }
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
    if (!registry_pid_.empty()) Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry stop " + registry_pid_);
    if (log_sink_) {
      auto& sinks = spdlog::default_logger()->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), log_sink_), sinks.end());
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  RuntimeOptions Options(const std::string& name = "rt") {
    RuntimeOptions o;
    o.state_dir = (dir_ / (name + "-state")).string();
    o.run_dir = (dir_ / (name + "-run")).string();
    mounts_.push_back(o.run_dir);
    o.registry = registry_;
    o.cgroup_parent = "/rivendell-test";
    o.veth_pool = "10.249";
    o.backoff_initial_ms = 100;
    o.backoff_max_ms = 400;
    o.pids_limit = 64;
    return o;
  }

  ContainerRuntime& Runtime(RuntimeOptions o) {
    auto rt = ContainerRuntime::Open(o);
    EXPECT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(*rt);
    return *rt_;
  }
  ContainerRuntime& Runtime() { return Runtime(Options()); }

  // Pushes an app image: the stack plus a layer with /app/www/index.html.
  std::string PushApp(const std::string& repo, std::vector<std::string> cmd = {}) {
    fs::path tree = dir_ / ("tree-" + repo.substr(repo.find('/') + 1));
    fs::create_directories(tree / "app/www");
    std::ofstream(tree / "app/www/index.html") << "hello from rivendell\n";
    std::ofstream(tree / "app/name") << repo << "\n";  // each app its own layer
    oci::PushDirOptions o;
    o.repo = repo;
    o.tag = "v1";
    o.base = "stack/busybox:latest";
    o.cmd = cmd.empty() ? std::vector<std::string>{"httpd", "-f", "-p", "8080", "-h", "/app/www"} : cmd;
    o.tmp_dir = dir_.string();
    auto r = oci::PushDir(*client_, tree.string(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return repo + ":v1";
  }

  // Pushes an image whose only layer is the given tar entries.
  std::string PushRawLayer(const std::string& repo, const std::string& layer_path) {
    auto digest = crypto::Sha256File(layer_path);
    std::ifstream f(layer_path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string blob = ss.str();
    EXPECT_TRUE(client_->PushBlob(repo, *digest, blob).ok());
    nlohmann::json cfg = {{"architecture", "amd64"}, {"os", "linux"},
                          {"config", {{"Cmd", {"/bin/sh"}}}},
                          {"rootfs", {{"type", "layers"}, {"diff_ids", {*digest}}}}};
    std::string cb = cfg.dump();
    EXPECT_TRUE(client_->PushBlob(repo, crypto::OciDigestOf(cb), cb).ok());
    oci::Manifest m;
    m.config = {oci::kMediaConfig, crypto::OciDigestOf(cb), static_cast<int64_t>(cb.size()), "", "", {}};
    m.layers.push_back({oci::kMediaLayerGzip, *digest, static_cast<int64_t>(blob.size()), "", "", {}});
    EXPECT_TRUE(client_->PutManifest(repo, "v1", oci::kMediaManifest, oci::SerializeManifest(m)).ok());
    return repo + ":v1";
  }

  // The registry's on-disk file for a blob.
  std::string RegistryBlobFile(const std::string& digest) {
    std::string hex = digest.substr(7);
    return reg_dir_ + "/storage/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  }

  msg::JobSpec Job(const std::string& name, const std::string& image) {
    msg::JobSpec j;
    j.id = name + "-" + tag_;
    j.tenant = "acme";
    j.app = name;
    j.env = "prod";
    j.image = image;
    j.resources.ram_mb = 64;
    j.resources.cpu_millis = 500;
    return j;
  }

  Recorder& Rec() {
    recorders_.push_back(std::make_unique<Recorder>());
    return *recorders_.back();
  }

  Container& Launch(msg::JobSpec spec, Recorder& rec, std::map<std::string, std::string> secrets = {},
                    int pass_fd = -1) {
    containers_.push_back(std::make_unique<Container>(*rt_, std::move(spec), std::move(secrets), std::ref(rec)));
    containers_.back()->PassFd(pass_fd);
    EXPECT_TRUE(containers_.back()->Start().ok());
    return *containers_.back();
  }

  std::string Status(pid_t pid, const std::string& key) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
    return "";
  }

  std::string tag_;
  fs::path dir_;
  int port_ = 0;
  std::string reg_dir_, registry_pid_, registry_;
  std::unique_ptr<oci::RegistryClient> client_;
  std::unique_ptr<ContainerRuntime> rt_;
  // Recorders outlive the containers that call them (destroyed in reverse order).
  std::vector<std::unique_ptr<Recorder>> recorders_;
  std::vector<std::unique_ptr<Container>> containers_;
  std::vector<std::string> mounts_;
  std::ostringstream log_stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> log_sink_;
};

TEST_F(ContainerTest, HttpdImageAnswersOnItsPortIsolated) {
  Runtime();
  std::string image = PushApp("acme/web");
  auto job = Job("web", image);
  job.port = 8080;
  job.health.http_path = "/index.html";
  job.health.interval_ms = 200;
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
  // From inside the container's netns (its "host"), and over the veth from the host.
  EXPECT_TRUE(ProbeHttp(c.netns_path(), 8080, "/index.html", 1000).ok());
  ASSERT_FALSE(c.netns().container_ip.empty());
  int rc = 0;
  std::string body = Sh("curl -s --max-time 2 http://" + c.netns().container_ip + ":8080/index.html", &rc);
  EXPECT_EQ(body, "hello from rivendell") << rc;
  // Not root, no capabilities, no_new_privs, own pid namespace.
  pid_t pid = c.app_pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(Status(pid, "Uid").substr(0, Status(pid, "Uid").find_first_of(" \t", 1)).find("10000"), 1u)
      << Status(pid, "Uid");
  EXPECT_NE(Status(pid, "CapEff").find("0000000000000000"), std::string::npos);
  EXPECT_NE(Status(pid, "NoNewPrivs").find("1"), std::string::npos);
  EXPECT_NE(Status(pid, "NSpid").find("\t1"), std::string::npos) << Status(pid, "NSpid");
  // Memory and pids limits in the cgroup.
  std::string cg = "/sys/fs/cgroup/memory/rivendell-test/" + c.id() + "/c";
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/memory/rivendell-test/" + c.id() + "/memory.limit_in_bytes"),
            std::to_string(64 << 20));
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/pids/rivendell-test/" + c.id() + "/c/pids.max"), "64");
  // Half a core reserved: weight 512, and it may burst to one core.
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/cpu/rivendell-test/" + c.id() + "/c/cpu.cfs_quota_us"), "100000");
  EXPECT_EQ(Sh("cat /sys/fs/cgroup/cpu/rivendell-test/" + c.id() + "/c/cpu.shares"), "512");
  // The image's layers are read-only lowerdirs shared with other containers.
  std::string mnt = Sh("grep " + c.id() + "/rootfs /proc/mounts");
  EXPECT_NE(mnt.find("lowerdir="), std::string::npos);

  c.Stop(std::chrono::milliseconds(500));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped)) << rec.Dump();
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_EQ(Sh("grep -c " + c.id() + "/rootfs /proc/mounts"), "0");
  EXPECT_FALSE(fs::exists("/var/run/netns/" + rt_->NetnsName(c.id())));
  EXPECT_FALSE(fs::exists(rt_->BundleDir(c.id())));
  EXPECT_FALSE(fs::exists(cg));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/rivendell-test/" + c.id()));
}

// Live restore (docs/SCEPTRE.md): a released container keeps running, a new
// supervisor adopts it (same pid: nothing restarted), its health checks and
// logs resume, and it stops cleanly.
TEST_F(ContainerTest, ReleasedContainerIsAdoptedWithoutARestart) {
  Runtime();
  std::string image = PushApp("acme/adopt");
  auto job = Job("adopt", image);
  job.port = 8080;
  job.health.interval_ms = 100;
  job.command = {"sh", "-c", "echo before; trap 'echo got-term; exit 0' TERM; httpd -f -p 8080 -h /app/www & "
                             "while true; do echo tick; sleep 0.2; done"};
  pid_t pid = -1;
  {
    Recorder& rec = Rec();
    auto c = std::make_unique<Container>(*rt_, job, std::map<std::string, std::string>{},
                                         std::ref(rec));
    ASSERT_TRUE(c->Start().ok());
    ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
    pid = c->app_pid();
    ASSERT_GT(pid, 0);
    c->Release();
    c.reset();  // the old strider is gone
  }
  // Whatever fails below, the released app must not outlive the test.
  struct Reap {
    ContainerRuntime* rt;
    std::string id;
    pid_t pid;
    ~Reap() {
      if (kill(pid, 0) == 0) kill(pid, SIGKILL);
      rt->Cleanup(id, true);
    }
  } reap{rt_.get(), ContainerIdFor(job.id), pid};
  ASSERT_EQ(kill(pid, 0), 0) << "the app died with its supervisor";
  std::string log = rt_->ContainerDir(ContainerIdFor(job.id)) + "/console.log";
  size_t size_then = fs::file_size(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // it writes while nobody reads
  Recorder& rec2 = Rec();
  Container c2(*rt_, job, {}, std::ref(rec2));
  auto ta = std::chrono::steady_clock::now();
  rv::Status as = c2.Adopt();
  ASSERT_TRUE(as.ok()) << as.ToString();
  std::printf("[ measure  ] Adopt: %.2f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ta).count());
  ASSERT_TRUE(rec2.WaitFor(CState::kRunning)) << rec2.Dump();
  EXPECT_EQ(c2.app_pid(), pid);
  EXPECT_NE(rec2.Dump().find("adopted pid"), std::string::npos) << rec2.Dump();
  EXPECT_TRUE(ProbeHttp(c2.netns_path(), 8080, "/index.html", 1000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_GT(fs::file_size(log), size_then + 20) << "logs did not resume";
  c2.Stop(std::chrono::milliseconds(2000));
  ASSERT_TRUE(rec2.WaitFor(CState::kStopped)) << rec2.Dump();
  EXPECT_TRUE(c2.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_NE(kill(pid, 0), 0);
  EXPECT_FALSE(fs::exists("/var/run/netns/" + rt_->NetnsName(c2.id())));
}

// The netns generation names the container's overlay veth: an adopted
// container reports the one it started with (another would make the overlay
// re-plumb it: issue 19's failed requests), and a record without a valid one
// gets one at adoption, kept from then on.
TEST_F(ContainerTest, AnAdoptedContainerKeepsItsNetnsGenerationAndAnInvalidRecordedOneIsFixedOnce) {
  Runtime();
  std::string image = PushApp("acme/gen");
  auto job = Job("gen", image);
  job.port = 8080;
  job.health.interval_ms = 100;
  job.command = {"sh", "-c", "exec httpd -f -p 8080 -h /app/www"};
  std::mutex mu;
  std::vector<int64_t> seen;  // the generation each start / adoption handed the overlay
  auto note = [&](const NetnsInfo& ns) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(ns.generation);
  };
  auto seen_at = [&](size_t i) {
    std::lock_guard<std::mutex> l(mu);
    return i < seen.size() ? seen[i] : int64_t{0};
  };
  rt_->SetNetworkHook([&](const NetnsInfo& ns, const std::string&) {
    note(ns);
    return rv::Status::Ok();  // no overlay here: lo is enough for the health probe
  });
  rt_->SetReattachHook([&](const NetnsInfo& ns, const std::string&) { note(ns); });
  const std::string id = ContainerIdFor(job.id);
  struct Reap {
    ContainerRuntime* rt;
    std::string id;
    pid_t pid = -1;
    ~Reap() {
      rt->SetNetworkHook(nullptr);
      rt->SetReattachHook(nullptr);
      if (pid > 0 && kill(pid, 0) == 0) kill(pid, SIGKILL);
      rt->Cleanup(id, true);
    }
  } reap{rt_.get(), id};
  {
    Recorder& rec = Rec();
    Container c(*rt_, job, {}, std::ref(rec));
    ASSERT_TRUE(c.Start().ok());
    ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
    reap.pid = c.app_pid();
    c.Release();
  }
  auto adopt = [&]() {
    Recorder& rec = Rec();
    Container c(*rt_, job, {}, std::ref(rec));
    rv::Status s = c.Adopt();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
    EXPECT_EQ(c.app_pid(), reap.pid);
    c.Release();
  };
  adopt();
  EXPECT_TRUE(IsNetnsGeneration(seen_at(0))) << seen_at(0);
  EXPECT_EQ(seen_at(1), seen_at(0)) << "adopted under another generation: its veth would be made again";
  // A record whose generation is no generation (what the signed-seed bug wrote).
  const std::string record = rt_->ContainerDir(id) + "/adopt";
  std::string digest, host_if;
  int64_t subnet = 0, generation = 0;
  {
    std::ifstream in(record);
    ASSERT_TRUE(in >> digest >> subnet >> host_if >> generation);
  }
  {
    std::ofstream out(record, std::ios::trunc);
    out << digest << " " << subnet << " " << host_if << " -12345\n";
  }
  adopt();
  EXPECT_TRUE(IsNetnsGeneration(seen_at(2))) << seen_at(2);
  adopt();
  EXPECT_EQ(seen_at(3), seen_at(2)) << "the fixed generation is kept in the record";
}

TEST_F(ContainerTest, NothingToAdoptIsNotFound) {
  Runtime();
  auto job = Job("never-ran", "acme/none:1");
  Container c(*rt_, job, {}, nullptr);
  EXPECT_EQ(c.Adopt().code(), rv::Status::Code::kNotFound);
}

TEST_F(ContainerTest, WorkloadAdapterReportsThroughPoll) {
  Runtime();
  std::string image = PushApp("acme/wl");
  auto job = Job("wl", image);
  job.port = 8080;
  std::vector<std::pair<strider::RunState, std::string>> seen;
  ContainerWorkloadFactory f(*rt_);
  auto w = f.Create(job, [&](strider::RunState s, const std::string& d) { seen.emplace_back(s, d); });
  ASSERT_TRUE(w->Start(job, {}).ok());
  for (int i = 0; i < 2000 && w->state() != strider::RunState::kRunning; i++) {
    w->Poll(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(w->state(), strider::RunState::kRunning);
  w->Stop(std::chrono::milliseconds(200));
  for (int i = 0; i < 1000 && !w->done(); i++) {
    w->Poll(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(w->done());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().first, strider::RunState::kStarting);
  EXPECT_EQ(seen.back().first, strider::RunState::kStopped);
}

// A declared health check that fails while the app's process lives is
// `unhealthy` (a RunState of its own, reported to sauron), and `running` again
// once the check passes. The app's PID 1 (a shell) stays up throughout; only
// the httpd it runs comes and goes.
TEST_F(ContainerTest, FailingHealthCheckIsUnhealthyThenRunningAgain) {
  Runtime();
  std::string image = PushApp("acme/flaky");
  auto job = Job("flaky", image);
  job.port = 8080;
  job.health.interval_ms = 100;
  job.health.timeout_ms = 100;
  job.command = {"sh", "-c",
                 "while true; do httpd -f -p 8080 -h /app/www & p=$!; sleep 2; kill $p; wait $p; sleep 2; done"};
  std::vector<std::pair<strider::RunState, std::string>> seen;
  ContainerWorkloadFactory f(*rt_);
  auto w = f.Create(job, [&](strider::RunState s, const std::string& d) { seen.emplace_back(s, d); });
  ASSERT_TRUE(w->Start(job, {}).ok());
  auto wait_for = [&](strider::RunState want, size_t after, int ms) -> size_t {
    for (int i = 0; i < ms / 10; i++) {
      w->Poll(0);
      for (size_t k = after; k < seen.size(); k++) {
        if (seen[k].first == want) return k + 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  };
  size_t running = wait_for(strider::RunState::kRunning, 0, 20000);
  ASSERT_GT(running, 0u);
  EXPECT_EQ(seen[running - 1].second, "healthy on port 8080");
  size_t unhealthy = wait_for(strider::RunState::kUnhealthy, running, 10000);
  ASSERT_GT(unhealthy, 0u) << "never unhealthy";
  EXPECT_NE(seen[unhealthy - 1].second.find("8080"), std::string::npos) << seen[unhealthy - 1].second;
  size_t again = wait_for(strider::RunState::kRunning, unhealthy, 10000);
  ASSERT_GT(again, 0u) << "never running again";
  // The process never exited: no exited/starting in between.
  for (size_t k = running; k < again; k++) {
    EXPECT_TRUE(seen[k].first == strider::RunState::kUnhealthy || seen[k].first == strider::RunState::kRunning)
        << static_cast<int>(seen[k].first) << " " << seen[k].second;
  }
  EXPECT_GE(rt_->counters().Get("container.unhealthy"), 1);
  w->Stop(std::chrono::milliseconds(200));
  for (int i = 0; i < 1000 && !w->done(); i++) {
    w->Poll(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(w->done());
}

TEST_F(ContainerTest, MemoryHogIsOomKilledAndRestarted) {
  Runtime();
  std::string image = PushApp("acme/hog");
  auto job = Job("hog", image);
  job.resources.ram_mb = 32;
  job.command = {"sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"};
  job.restart = "on-failure";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  std::string detail;
  ASSERT_TRUE(rec.WaitFor(CState::kExited, "oom-killed", 30000, &detail)) << rec.Dump();
  EXPECT_NE(detail.find("32 MB"), std::string::npos);
  ASSERT_TRUE(rec.WaitFor(CState::kStarting, "restart 1", 10000)) << rec.Dump();
  EXPECT_GE(rt_->counters().Get("container.oom_killed"), 1);
  c.Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped)) << rec.Dump();
}

TEST_F(ContainerTest, AppEatingAllItsMemoryEndsOomKilledHostFine) {
  Runtime();
  std::string image = PushApp("acme/eat");
  auto job = Job("eat", image);
  job.resources.ram_mb = 16;
  job.command = {"sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"};
  job.restart = "never";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  ASSERT_TRUE(rec.WaitFor(CState::kExited, "oom-killed at memory limit 16 MB", 30000)) << rec.Dump();
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_EQ(c.restarts(), 0);
  int rc = -1;
  Sh("true", &rc);
  EXPECT_EQ(rc, 0);
}

TEST_F(ContainerTest, ForkBombHitsPidsLimitHostAndNeighbourUnaffected) {
  Runtime();
  std::string image = PushApp("acme/bomb");
  auto good = Job("neighbour", image);
  good.port = 8080;
  Recorder& grec = Rec();
  Container& g = Launch(good, grec);
  ASSERT_TRUE(grec.WaitFor(CState::kRunning)) << grec.Dump();

  auto job = Job("bomb", image);
  job.command = {"sh", "-c", "b() { b | b & }; b; sleep 3"};
  job.restart = "never";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
  std::string pids = "/sys/fs/cgroup/pids/rivendell-test/" + c.id() + "/c";
  bool hit = false;
  for (int i = 0; i < 300 && !hit; i++) {
    std::string ev = Sh("cat " + pids + "/pids.events 2>/dev/null");
    hit = ev.find("max ") != std::string::npos && ev != "max 0";
    if (!hit) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(hit) << "pids.max never hit";
  int64_t cur = std::atoll(Sh("cat " + pids + "/pids.current 2>/dev/null").c_str());
  EXPECT_LE(cur, 64);
  // The host can still fork, the neighbour still answers.
  int rc = -1;
  Sh("/bin/true", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(ProbeTcp(g.netns_path(), 8080, 1000).ok());
  c.Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped, "", 20000)) << rec.Dump();
  EXPECT_FALSE(fs::exists(pids));
  EXPECT_TRUE(ProbeTcp(g.netns_path(), 8080, 1000).ok());
}

TEST_F(ContainerTest, ImageThatDoesNotExist) {
  Runtime();
  Recorder& rec = Rec();
  Container& c = Launch(Job("ghost", "acme/ghost:v9"), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "not found", 10000, &d)) << rec.Dump();
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));  // permanent: no retry loop
  EXPECT_EQ(rt_->counters().Get("image.not_found"), 1);
}

TEST_F(ContainerTest, TruncatedBlob) {
  Runtime();
  std::string image = PushApp("acme/trunc");
  auto img = oci::ResolveImage(*client_, "acme/trunc", "v1");
  ASSERT_TRUE(img.ok());
  std::string file = RegistryBlobFile(img->manifest.layers.back().digest);
  fs::resize_file(file, fs::file_size(file) / 2);
  // The stack layer is fine; break the app layer only. Pre-pull nothing.
  Recorder& rec = Rec();
  Container& c = Launch(Job("trunc", image), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("truncated"), std::string::npos) << d;
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_TRUE(fs::is_empty(rt_->options().state_dir + "/images/tmp"));
  EXPECT_FALSE(fs::exists(rt_->images().BlobPath(img->manifest.layers.back().digest)));
}

TEST_F(ContainerTest, DigestMismatch) {
  Runtime();
  std::string image = PushApp("acme/flip");
  auto img = oci::ResolveImage(*client_, "acme/flip", "v1");
  ASSERT_TRUE(img.ok());
  std::string file = RegistryBlobFile(img->manifest.layers.back().digest);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x5a');
    f.put('\x5a');
  }
  Recorder& rec = Rec();
  Container& c = Launch(Job("flip", image), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("digest mismatch"), std::string::npos) << d;
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_GE(rt_->counters().Get("image.blob_rejected"), 1);
}

TEST_F(ContainerTest, CorruptBlobWithValidDigest) {
  Runtime();
  std::string junk = (dir_ / "junk.tgz").string();
  std::ofstream(junk) << "\x1f\x8b\x08 this claims to be gzip but is garbage";
  std::string image = PushRawLayer("acme/junk", junk);
  Recorder& rec = Rec();
  Container& c = Launch(Job("junk", image), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_TRUE(d.find("corrupt") != std::string::npos || d.find("not a readable tar") != std::string::npos) << d;
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
}

TEST_F(ContainerTest, LayerWithDotDotPaths) {
  Runtime();
  std::string tar = (dir_ / "dotdot.tgz").string();
  ASSERT_TRUE(WriteTar(tar, {{"bin/", 'd'}, {"../../../../tmp/rv-pwned-" + tag_, 'f', "pwned"}}));
  std::string image = PushRawLayer("acme/dotdot", tar);
  Recorder& rec = Rec();
  Container& c = Launch(Job("dotdot", image), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("'..'"), std::string::npos) << d;
  EXPECT_FALSE(fs::exists("/tmp/rv-pwned-" + tag_));
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_TRUE(fs::is_empty(rt_->options().state_dir + "/images/layers"));
}

TEST_F(ContainerTest, AbsoluteSymlinkEscape) {
  Runtime();
  fs::create_directories(dir_ / "victim");
  std::string tar = (dir_ / "abs.tgz").string();
  ASSERT_TRUE(WriteTar(tar, {{"evil", 'l', (dir_ / "victim").string()}, {"evil/pwned", 'f', "pwned"}}));
  std::string image = PushRawLayer("acme/abs", tar);
  Recorder& rec = Rec();
  Container& c = Launch(Job("abs", image), rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("symlink"), std::string::npos) << d;
  EXPECT_FALSE(fs::exists(dir_ / "victim/pwned"));
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
}

TEST_F(ContainerTest, RegistryDown) {
  auto o = Options();
  o.registry = "127.0.0.1:" + std::to_string(testing::FreePort());  // nothing listens
  Runtime(o);
  auto job = Job("down", "acme/web:v1");
  job.restart = "never";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("unreachable"), std::string::npos) << d;
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
}

TEST_F(ContainerTest, RegistryDownRetriedUnderPolicyThenRecovers) {
  Runtime();
  std::string image = PushApp("acme/later");
  Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry stop " + registry_pid_);
  auto job = Job("later", image);
  job.restart = "on-failure";
  Recorder& rec = Rec();
  Launch(job, rec);
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "unreachable", 10000)) << rec.Dump();
  ASSERT_TRUE(rec.WaitFor(CState::kStarting, "retrying", 10000)) << rec.Dump();
  // Same storage, same port: the registry comes back and the container starts.
  registry_pid_ = Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry start --dir " + reg_dir_ + " --port " +
                     std::to_string(port_));
  ASSERT_TRUE(rec.WaitFor(CState::kRunning, "", 20000)) << rec.Dump();
}

TEST_F(ContainerTest, DiskFullDuringPull) {
  auto o = Options();
  fs::create_directories(o.state_dir);
  ASSERT_EQ(mount("tmpfs", o.state_dir.c_str(), "tmpfs", 0, "size=700k"), 0);
  mounts_.insert(mounts_.begin(), o.state_dir);
  Runtime(o);
  std::string image = PushApp("acme/full");
  auto job = Job("full", image);
  job.restart = "never";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  std::string d;
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "", 10000, &d)) << rec.Dump();
  EXPECT_NE(d.find("No space left on device"), std::string::npos) << d;
  EXPECT_TRUE(c.WaitDone(std::chrono::milliseconds(5000)));
  EXPECT_TRUE(fs::is_empty(o.state_dir + "/images/tmp"));  // no partial files
}

TEST_F(ContainerTest, AppThatExitsAtOnce) {
  Runtime();
  std::string image = PushApp("acme/quit");
  auto job = Job("quit", image);
  job.command = {"sh", "-c", "echo bye; exit 3"};
  job.restart = "on-failure";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec);
  ASSERT_TRUE(rec.WaitFor(CState::kExited, "code 3 (exited at once)", 10000)) << rec.Dump();
  // Restarted with backoff, again and again, until stopped.
  ASSERT_TRUE(rec.WaitFor(CState::kStarting, "restart 2", 10000)) << rec.Dump();
  c.Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped)) << rec.Dump();
  std::string log = Sh("cat " + c.log_path());
  EXPECT_NE(log.find("bye"), std::string::npos);
}

// Socket activation (an env proxy's ingress): the host's descriptor is the
// app's fd 3, at the first launch and at every restart; nothing else leaks in.
TEST_F(ContainerTest, APassedDescriptorIsTheAppsFd3AtEveryLaunch) {
  Runtime();
  std::string image = PushApp("acme/fd3");
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  auto job = Job("fd3", image);
  job.command = {"sh", "-c", "echo launch >&3; ls /proc/self/fd | wc -l >&3; exit 1"};
  job.restart = "on-failure";
  Recorder& rec = Rec();
  Container& c = Launch(job, rec, {}, p[1]);
  // Read until the second launch wrote its lines (the restart after backoff).
  std::string got;
  for (int64_t deadline = MonotonicMs() + 15000; MonotonicMs() < deadline;) {
    if (std::count(got.begin(), got.end(), '\n') >= 4) break;  // two launches, two lines each
    pollfd pf{p[0], POLLIN, 0};
    if (poll(&pf, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  c.Stop(std::chrono::milliseconds(100));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped)) << rec.Dump();
  close(p[0]);
  close(p[1]);  // ours: kept open while the container may launch again
  EXPECT_EQ(got, "launch\n5\nlaunch\n5\n") << rec.Dump();
}

TEST_F(ContainerTest, SecretInEnvironmentNowhereOnDisk) {
  Runtime();
  std::string image = PushApp("acme/secret");
  std::string secret = "s3cr3t-" + crypto::Sha256Hex(tag_).substr(0, 24);
  auto job = Job("secret", image);
  job.port = 8080;
  job.config["PUBLIC_SETTING"] = "visible";
  // Seal to the host key, as elrond will; the strider opens it in memory.
  auto host = crypto::GenerateBoxKeyPair();
  auto sealed = crypto::SealEnv(host.public_key, {{"DATABASE_PASSWORD", secret}});
  ASSERT_TRUE(sealed.ok());
  auto opened = crypto::OpenSealedEnv(host, *sealed);
  ASSERT_TRUE(opened.ok());
  Recorder& rec = Rec();
  Container& c = Launch(job, rec, opened->vars());
  ASSERT_TRUE(rec.WaitFor(CState::kRunning)) << rec.Dump();
  std::ifstream envf("/proc/" + std::to_string(c.app_pid()) + "/environ", std::ios::binary);
  std::stringstream ss;
  ss << envf.rdbuf();
  EXPECT_NE(ss.str().find("DATABASE_PASSWORD=" + secret), std::string::npos);
  EXPECT_NE(ss.str().find("PUBLIC_SETTING=visible"), std::string::npos);
  // Only the tmpfs bundle has it; not the image cache, container dirs, logs, registry.
  int rc = 0;
  std::string hits = Sh("grep -rl --no-messages '" + secret + "' " + rt_->options().state_dir + " " + reg_dir_, &rc);
  EXPECT_EQ(hits, "");
  EXPECT_EQ(Sh("grep -c '" + secret + "' " + rt_->BundleDir(c.id()) + "/config.json"), "1");
  c.Stop(std::chrono::milliseconds(200));
  ASSERT_TRUE(rec.WaitFor(CState::kStopped)) << rec.Dump();
  EXPECT_FALSE(fs::exists(rt_->BundleDir(c.id())));
  hits = Sh("grep -rl --no-messages '" + secret + "' " + rt_->options().state_dir + " " + reg_dir_ + " " +
            rt_->options().run_dir);
  EXPECT_EQ(hits, "");
  EXPECT_EQ(log_stream_.str().find(secret), std::string::npos);
}

// A runtime spec is JSON, which holds only UTF-8. Sauron refuses other text,
// but a secret stored before it did must fail its container with a reason,
// not throw out of the strider (it did: std::terminate, the whole host agent).
TEST_F(ContainerTest, ASecretThatIsNotUtf8FailsItsContainerAndNotTheStrider) {
  Runtime();
  std::string image = PushApp("acme/latin1");
  auto job = Job("latin1", image);
  Recorder& rec = Rec();
  Launch(job, rec, {{"GREETING", "caf\xe9"}});
  ASSERT_TRUE(rec.WaitFor(CState::kFailed, "not UTF-8", 10000)) << rec.Dump();
}

TEST_F(ContainerTest, WarmCacheSkipsBlobsAndGcFreesUnused) {
  RuntimeOptions o = Options();
  o.image_grace_ms = 0;  // images just pulled count as unused at once
  Runtime(o);
  std::string image = PushApp("acme/gc");
  PullStats cold, warm;
  ASSERT_TRUE(rt_->images().Pull(image, &cold).ok());
  EXPECT_EQ(cold.layers_unpacked, 2);
  ASSERT_TRUE(rt_->images().Pull(image, &warm).ok());
  EXPECT_EQ(warm.blobs_fetched, 0);
  EXPECT_EQ(warm.layers_unpacked, 0);
  // A second app on the same stack pulls only its own layer.
  std::string other = PushApp("acme/gc2", {"sh"});
  PullStats st2;
  ASSERT_TRUE(rt_->images().Pull(other, &st2).ok());
  EXPECT_EQ(st2.layers_unpacked, 1);
  auto freed = rt_->GcImages();
  ASSERT_TRUE(freed.ok());
  EXPECT_GT(*freed, 0);
  EXPECT_TRUE(fs::is_empty(rt_->options().state_dir + "/images/layers"));
  // Dead container dirs go too.
  fs::create_directories(rt_->ContainerDir("rv-dead-1") + "/upper");
  EXPECT_GE(rt_->GcContainers(), 1);
  EXPECT_FALSE(fs::exists(rt_->ContainerDir("rv-dead-1")));
}

// The periodic GC snapshots the registered containers, then lists the dirs.
// A container that registers and makes its dir in between is live, not dead:
// its dir must survive any GC running at that moment.
TEST_F(ContainerTest, GcNeverRemovesTheDirOfAContainerThatRegistersWhileItRuns) {
  Runtime();
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  std::thread gc([&] {
    while (!stop.load()) {
      rt_->GcContainers();
      passes++;
    }
  });
  std::vector<std::string> ids;
  int not_made = 0;
  for (int i = 0; i < 400; i++) {
    std::string id = "rv-race-" + std::to_string(i);
    rt_->Register(id, "sha256:none");
    std::error_code ec;
    fs::create_directories(rt_->ContainerDir(id) + "/upper", ec);
    not_made += ec ? 1 : 0;
    ids.push_back(id);
    // A dead one alongside, which the GC must still remove (it may do so
    // between the two mkdirs: hence no check).
    fs::create_directories(rt_->ContainerDir("rv-dead-" + std::to_string(i)) + "/upper", ec);
  }
  EXPECT_EQ(not_made, 0) << "a registered container's dir could not be made";
  while (passes.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int before = passes.load();
  while (passes.load() < before + 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  gc.join();
  int lost = 0;
  for (const auto& id : ids) lost += !fs::exists(rt_->ContainerDir(id) + "/upper");
  EXPECT_EQ(lost, 0) << "registered containers whose dir the GC removed";
  for (int i = 0; i < 400; i++) EXPECT_FALSE(fs::exists(rt_->ContainerDir("rv-dead-" + std::to_string(i)))) << i;
  for (const auto& id : ids) rt_->Unregister(id);
}

// A strider that died with a proxy that died too left that proxy's
// decrypted keys on the host; the next strider removes them at start-up,
// and only theirs.
TEST_F(ContainerTest, GcProxyDirsRemovesTheKeysOfDeadProxiesAndKeepsLiveAndJournaledOnes) {
  Runtime();
  for (const char* id : {"rv-p-dead", "rv-p-live", "rv-p-journaled"}) {
    fs::create_directories(rt_->ProxyDir(id) + "/certs");
    std::ofstream(rt_->ProxyDir(id) + "/certs/app.pem") << "key";
  }
  rt_->Register("rv-p-live", "sha256:none");
  EXPECT_EQ(rt_->GcProxyDirs({"rv-p-journaled"}), 1);
  EXPECT_FALSE(fs::exists(rt_->ProxyDir("rv-p-dead")));
  EXPECT_TRUE(fs::exists(rt_->ProxyDir("rv-p-live") + "/certs/app.pem"));
  EXPECT_TRUE(fs::exists(rt_->ProxyDir("rv-p-journaled") + "/certs/app.pem"));
  EXPECT_EQ(rt_->GcProxyDirs({"rv-p-journaled"}), 0);
  rt_->Unregister("rv-p-live");
}

// The strider's periodic Gc takes its keep set (the registered containers'
// images), then waits for the store's lock while a pull runs. The image that
// pull hands out is not registered yet: removing its layers then left a
// container whose rootfs had no /bin/sh (a CI run of pod_push_faults).
TEST_F(ContainerTest, GcKeepsAnImageHandedOutWithinTheGraceThoughNoContainerHoldsItYet) {
  Runtime();
  std::string image = PushApp("acme/gcgrace");
  int64_t now = 1000;
  ImageStore::Options io;
  io.root = (dir_ / "grace-images").string();
  io.default_registry = registry_;
  io.handed_out_grace_ms = 60000;
  io.now_ms = [&now] { return now; };
  auto store = ImageStore::Open(io);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto img = (*store)->Pull(image);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ASSERT_FALSE(img->layer_dirs.empty());
  auto freed = (*store)->Gc({});
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, 0);
  for (const auto& d : img->layer_dirs) EXPECT_FALSE(fs::is_empty(d)) << d;
  EXPECT_TRUE((*store)->Cached(image).ok());
  // Handed out again (a cached lookup) renews the grace.
  now += 50000;
  ASSERT_TRUE((*store)->Cached(image).ok());
  now += 50000;
  freed = (*store)->Gc({});
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, 0);
  // Past the grace with no container holding it: an unused image, removed.
  now += 10001;
  freed = (*store)->Gc({});
  ASSERT_TRUE(freed.ok());
  EXPECT_GT(*freed, 0);
  for (const auto& d : img->layer_dirs) EXPECT_FALSE(fs::exists(d)) << d;
  EXPECT_FALSE((*store)->Cached(image).ok());
}

// Issue 19's faults: a strider (or the host) that dies in the middle of a
// pull, of an unpack, or of a container start leaves nothing half-done in
// place, and what comes next completes it once: nothing lost, nothing twice.

TEST_F(ContainerTest, CrashInTheMiddleOfAPullLeavesNoPartialBlobAndThePullCompletesOnce) {
  // One layer of incompressible bytes, so the cut falls inside it.
  std::string big;
  std::mt19937 rng(7);
  for (int i = 0; i < (6 << 20) / 4; ++i) {
    uint32_t v = rng();
    big.append(reinterpret_cast<const char*>(&v), 4);
  }
  std::string layer = (dir_ / "big.tar.gz").string();
  ASSERT_TRUE(WriteTar(layer, {TarEntry("data", 'f', big)}));
  std::string image = PushRawLayer("acme/bigpull", layer);
  auto layer_digest = crypto::Sha256File(layer);
  ASSERT_TRUE(layer_digest.ok());
  StallingProxy proxy(port_, 1 << 20);
  ASSERT_TRUE(proxy.ok());
  ImageStore::Options so;
  so.root = (dir_ / "pullcrash-images").string();
  so.default_registry = "127.0.0.1:" + std::to_string(proxy.port());
  pid_t child = InChild([&] {
    auto store = ImageStore::Open(so);
    if (store.ok()) (void)(*store)->Pull(image);
  });
  ASSERT_GT(child, 0);
  // The crash: once the download is well under way (and stalled in the layer).
  bool cut = false;
  for (int i = 0; i < 2000 && !cut; ++i) {
    std::error_code ec;
    // (A file may be renamed away between the listing and its size: no throw.)
    for (auto& e : fs::directory_iterator(so.root + "/tmp", ec)) {
      std::error_code size_ec;
      auto size = e.file_size(size_ec);
      cut |= !size_ec && size >= (512 << 10);
    }
    if (!cut) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  KillAndReap(child);
  ASSERT_TRUE(cut) << "the pull never reached the middle of the layer";
  // Nothing half-fetched is in place: the cut blob is only debris in tmp/.
  EXPECT_FALSE(fs::exists(so.root + "/blobs/sha256/" + layer_digest->substr(7)));
  EXPECT_FALSE(fs::exists(so.root + "/layers/" + layer_digest->substr(7)));
  EXPECT_TRUE(BlobsNotMatchingTheirName(so.root).empty());
  EXPECT_FALSE(fs::is_empty(so.root + "/tmp"));
  // The restarted strider: its store drops the debris, and the pull (from the
  // registry itself now) fetches only what the crash cut, once.
  so.default_registry = registry_;
  auto store = ImageStore::Open(so);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(fs::is_empty(so.root + "/tmp"));
  EXPECT_EQ((*store)->Cached(image).status().code(), rv::Status::Code::kNotFound);
  PullStats st;
  auto img = (*store)->Pull(image, &st);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(st.blobs_fetched, 1) << "the config blob, complete before the crash, was fetched again";
  EXPECT_EQ(st.layers_unpacked, 1);
  EXPECT_TRUE(BlobsNotMatchingTheirName(so.root).empty());
  EXPECT_EQ(fs::file_size(img->layer_dirs.at(0) + "/data"), big.size());
  EXPECT_TRUE(fs::is_empty(so.root + "/tmp"));
}

TEST_F(ContainerTest, CrashInTheMiddleOfAnUnpackLeavesNoPartialLayerAndTheBlobIsNotFetchedAgain) {
  // Many small files: unpacking takes long enough to be cut.
  constexpr int kFiles = 20000;
  std::vector<TarEntry> entries = {TarEntry("d", 'd', "", 0755)};
  for (int i = 0; i < kFiles; ++i) entries.emplace_back("d/f" + std::to_string(i), 'f', "x");
  std::string layer = (dir_ / "many.tar.gz").string();
  ASSERT_TRUE(WriteTar(layer, entries));
  std::string image = PushRawLayer("acme/manyfiles", layer);
  auto layer_digest = crypto::Sha256File(layer);
  ASSERT_TRUE(layer_digest.ok());
  ImageStore::Options so;
  so.root = (dir_ / "unpackcrash-images").string();
  so.default_registry = registry_;
  pid_t child = InChild([&] {
    auto store = ImageStore::Open(so);
    if (store.ok()) (void)(*store)->Pull(image);
  });
  ASSERT_GT(child, 0);
  bool cut = false;
  for (int i = 0; i < 3000 && !cut; ++i) {
    std::error_code ec;
    for (auto& e : fs::directory_iterator(so.root + "/tmp", ec)) {
      if (e.path().filename().string().rfind("layer-", 0) != 0) continue;
      int n = 0;
      for (auto it = fs::directory_iterator(e.path() / "d", ec); !ec && it != fs::directory_iterator() && n < 200;
           it.increment(ec))
        ++n;
      cut |= n >= 200;
    }
    if (!cut) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  KillAndReap(child);
  ASSERT_TRUE(cut) << "the unpack was never seen under way";
  // The layer is not in place half-unpacked; its blob is, whole.
  EXPECT_FALSE(fs::exists(so.root + "/layers/" + layer_digest->substr(7)));
  EXPECT_TRUE(fs::exists(so.root + "/blobs/sha256/" + layer_digest->substr(7)));
  EXPECT_TRUE(BlobsNotMatchingTheirName(so.root).empty());
  auto store = ImageStore::Open(so);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(fs::is_empty(so.root + "/tmp"));
  PullStats st;
  auto img = (*store)->Pull(image, &st);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(st.blobs_fetched, 0) << "a whole blob was fetched again";
  EXPECT_EQ(st.layers_unpacked, 1);
  int files = 0;
  for (auto& e : fs::directory_iterator(img->layer_dirs.at(0) + "/d")) files += e.is_regular_file();
  EXPECT_EQ(files, kFiles);
}

// runc got as far as `create` when the crash came: its init waits on the exec
// fifo and no app runs. That container is not adopted (an app that never ran
// would pass for a live one), and starting the job again replaces it: one
// container, one app, answering.
TEST_F(ContainerTest, CrashBetweenRuncCreateAndStartIsNotAdoptedAndStartsOnce) {
  Runtime();
  std::string image = PushApp("acme/halfstart");
  auto job = Job("halfstart", image);
  job.port = 8080;
  job.health.interval_ms = 100;
  const std::string id = ContainerIdFor(job.id);
  const std::string runc = "/usr/sbin/runc --root " + rt_->RuncRoot();
  pid_t app = -1;
  {
    Recorder& rec = Rec();
    auto c = std::make_unique<Container>(*rt_, job, std::map<std::string, std::string>{}, std::ref(rec));
    ASSERT_TRUE(c->Start().ok());
    ASSERT_TRUE(rec.WaitFor(CState::kRunning, "healthy")) << rec.Dump();
    app = c->app_pid();
    c->Release();
    c.reset();
  }
  // The crash: the app is gone, and runc is cut after `create`.
  KillAndReap(app);
  int rc = 0;
  Sh(runc + " delete --force " + id + " 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  Sh(runc + " create --bundle " + rt_->BundleDir(id) + " --pid-file " + (dir_ / "created.pid").string() + " " + id +
         " </dev/null >/dev/null 2>&1",
     &rc);
  ASSERT_EQ(rc, 0) << "runc create failed";
  ASSERT_NE(Sh(runc + " state " + id).find("\"created\""), std::string::npos);
  pid_t init = std::atoi(Sh("cat " + (dir_ / "created.pid").string()).c_str());
  ASSERT_GT(init, 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, WNOHANG);
    }
  } reap{init};

  Recorder& rec2 = Rec();
  Container c2(*rt_, job, {}, std::ref(rec2));
  rv::Status as = c2.Adopt();
  EXPECT_EQ(as.code(), rv::Status::Code::kNotFound) << as.ToString();
  EXPECT_NE(as.message().find("not running"), std::string::npos) << as.ToString();
  // What the welcome's keep does: start it again.
  ASSERT_TRUE(c2.Start().ok());
  ASSERT_TRUE(rec2.WaitFor(CState::kRunning, "healthy")) << rec2.Dump();
  EXPECT_NE(c2.app_pid(), init);
  EXPECT_EQ(Sh(runc + " list -q"), id);  // one container
  EXPECT_NE(Sh(runc + " state " + id).find("\"running\""), std::string::npos);
  EXPECT_EQ(Sh("grep -c " + id + "/rootfs /proc/mounts"), "1");  // one overlay mount
  EXPECT_TRUE(ProbeHttp(c2.netns_path(), 8080, "/index.html", 1000).ok());
  waitpid(init, nullptr, WNOHANG);
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(init) + "/cmdline") &&
               Sh("cat /proc/" + std::to_string(init) + "/cmdline | tr -d '\\0'").find("runc") != std::string::npos)
      << "the created container's init outlived the restart";
  c2.Stop(std::chrono::milliseconds(500));
  ASSERT_TRUE(rec2.WaitFor(CState::kStopped)) << rec2.Dump();
  EXPECT_TRUE(c2.WaitDone(std::chrono::milliseconds(5000)));
}

TEST_F(ContainerTest, OverlappingPullsOfOneImageShareOnePull) {
  Runtime();
  std::string image = PushApp("acme/together");
  constexpr int kPullers = 8;
  std::vector<std::string> digests(kPullers);
  std::vector<std::thread> ts;
  std::atomic<int> ready{0};
  for (int i = 0; i < kPullers; ++i) {
    ts.emplace_back([&, i] {
      ready++;
      while (ready.load() < kPullers) std::this_thread::yield();
      auto img = rt_->images().Pull(image);
      digests[i] = img.ok() ? img->manifest_digest : "failed: " + img.status().ToString();
    });
  }
  for (auto& t : ts) t.join();
  for (const auto& d : digests) EXPECT_EQ(d, digests[0]);
  EXPECT_EQ(digests[0].rfind("sha256:", 0), 0u) << digests[0];
  // The others waited for the one under way instead of asking the registry in turn.
  EXPECT_GE(rt_->images().shared_pulls(), 1);
  EXPECT_EQ(rt_->counters().Get("image.pulled"), 1);
}

}  // namespace rv::container
