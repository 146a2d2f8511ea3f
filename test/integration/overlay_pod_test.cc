// The overlay wired into a real pod (issue 4): sauron (IPAM, env keys,
// views), elrond, three striders each in its own network namespace "host"
// with its own overlayd, and busybox containers pulled from the pod's
// registry. Addresses, keys and routes only come from sauron through the
// striders to overlayd; the test never writes a control document.
//
//   <p>ul  : underlay netns, bridge br0; a veth to the root netns (sauron,
//            elrond, registry at 10.89.T.254)
//   <p>h1..h3 : hosts 10.89.T.{1,2,3}, strider + overlayd each
//   env X: x1 (h1, httpd), x2 (h2, httpd; moved to h3)   env Y: y1 (h1)
//
// Needs root, runc, docker-registry, tcpdump, nsenter; skips otherwise.
// TearDown stops striders gracefully (they stop their containers), then
// everything else, and deletes every namespace and veth it made.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/msg/overlay.h"
#include "overlay/addr.h"
#include "overlay/control_socket.h"
#include "overlay/netns_test_util.h"
#include "strider/container/container_runtime.h"
#include "test/integration/pod_harness.h"
#include "common/testing/installed.h"

namespace rv::test {
namespace {

using namespace rv::overlay::nettest;
using json = nlohmann::json;
namespace fs = std::filesystem;

// GET / over TCP from the calling process's netns; 0 if the body has `want`.
int HttpGet(const std::string& ip, const std::string& want, int timeout_ms = 1000) {
  int fd = TcpConnect(ip.c_str(), 8080, timeout_ms);
  if (fd < 0) return 1;
  std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
  WriteAll(fd, req.data(), req.size());
  std::string all;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, size_t(n));
  }
  close(fd);
  return all.find(want) != std::string::npos ? 0 : 2;
}

class OverlayPodTest : public PodHarness {
 protected:
  void SetUp() override {
    PodHarness::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(rv::testing::Installed({"runc", "docker-registry", "ip", "iptables", "tcpdump", "nsenter"}));
    int pid = getpid();
    p_ = "onet" + std::to_string(pid % 100000);
    tag_ = std::to_string(20 + pid % 200);
    root_ip_ = "10.89." + tag_ + ".254";
    marker_ = "RIVENDELL-OVERLAY-MARKER-" + std::to_string(pid);
    // Underlay: a bridge in its own netns; the root netns joins it by a veth.
    ul_ = p_ + "ul";
    ASSERT_EQ(Sh("ip netns add " + ul_), 0);
    made_ns_.push_back(ul_);
    ASSERT_EQ(Sh("ip -n " + ul_ + " link add br0 type bridge && ip -n " + ul_ + " link set br0 up"), 0);
    root_veth_ = p_ + "r";
    ASSERT_EQ(Sh("ip link add " + root_veth_ + " type veth peer name vroot netns " + ul_), 0);
    ASSERT_EQ(Sh("ip -n " + ul_ + " link set vroot master br0 up"), 0);
    ASSERT_EQ(Sh("ip addr add " + root_ip_ + "/24 dev " + root_veth_ + " && ip link set " + root_veth_ + " up"), 0);
    for (int h = 1; h <= 3; ++h) {
      std::string ns = Host(h), hs = std::to_string(h);
      ASSERT_EQ(Sh("ip netns add " + ns), 0);
      made_ns_.push_back(ns);
      ASSERT_EQ(Sh("ip -n " + ns + " link add eth0 type veth peer name vh" + hs + " netns " + ul_), 0);
      ASSERT_EQ(Sh("ip -n " + ul_ + " link set vh" + hs + " master br0 up"), 0);
      ASSERT_EQ(Sh("ip -n " + ns + " addr add " + HostIp(h) + "/24 dev eth0 && ip -n " + ns +
                   " link set eth0 up && ip -n " + ns + " link set lo up"), 0);
    }
    // The pod: h1 and h2/h3 as two groups (x2 may run on h2 or h3).
    WritePod({{"h1", {{"slot", "1"}, {"group", "a"}}},
              {"h2", {{"slot", "2"}, {"group", "b"}}},
              {"h3", {{"slot", "3"}, {"group", "b"}}}},
             "0.0.0.0");
    // Registry on the root end of the underlay, with the busybox stack.
    registry_ = root_ip_ + ":" + std::to_string(FreePort());
    std::string reg_port = registry_.substr(registry_.find(':') + 1);
    ASSERT_EQ(Sh(std::string(RV_REPO_ROOT) + "/scripts/registry start --dir " + dir_ + "/registry --port " + reg_port +
                 " --addr " + root_ip_),
              0);
    registry_started_ = true;
    ASSERT_EQ(Sh("RV_IMAGE=" + std::string(RV_IMAGE_BIN) + " " + RV_REPO_ROOT + "/scripts/stack-image --registry " +
                 registry_),
              0)
        << "cannot push the busybox stack";

    // Containers may reach their gateway on tcp/5002 only (the test's "host service").
    ASSERT_GT(StartSauron({"--overlay-switch-ms", "700", "--overlay-key-grace-ms", "1500", "--overlay-gateway-ports",
                           "tcp/5002"}),
              0);
    ASSERT_GT(StartElrond(), 0);
    ASSERT_TRUE(WaitFor([&] { return ElrondReady(); }, 10000)) << Dump();
    strider_containers_ = true;
    for (int h = 1; h <= 3; ++h) {
      std::string hs = std::to_string(h);
      std::string sock = dir_ + "/overlayd-h" + hs + ".sock";
      ASSERT_GT(SpawnProcess("overlayd-h" + hs,
                             {"/usr/bin/nsenter", "--net=/run/netns/" + Host(h), RV_OVERLAYD_BIN, "run", "--config",
                              dir_ + "/overlayd-h" + hs + ".json", "--host-key", dir_ + "/keys/h" + hs + ".key",
                              "--socket", sock}),
                0);
      std::string root = "tcp://" + root_ip_ + ":";
      ASSERT_GT(StartStrider("h" + hs,
                             {"--sauron-api", root + std::to_string(api_port_), "--sauron-pub",
                              root + std::to_string(pub_port_), "--elrond", root + std::to_string(elrond_port_),
                              "--address", HostIp(h), "--registry", registry_, "--overlayd-socket", sock},
                             // nsenter, not `ip netns exec`: the latter gives the
                             // strider a mount namespace of its own, so the netns
                             // files it creates for containers would be invisible
                             // to overlayd (on a real host both share the root one)
                             {"/usr/bin/nsenter", "--net=/run/netns/" + Host(h)}),
                0);
    }
    ASSERT_TRUE(WaitFor([&] { return HostsUp() == 3; }, 20000)) << Dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // x2 may run on h2 or h3 (group b); h3 is drained so it starts on h2.
    ASSERT_EQ(Rv("hosts drain h3"), 0);
    ASSERT_TRUE(Submit({Web("x1", "x", {{"slot", "1"}}), Web("x2", "x", {{"group", "b"}}),
                        Web("y1", "y", {{"slot", "1"}})})
                    .ok());
    for (const char* j : {"x1", "x2", "y1"}) ASSERT_TRUE(WaitAttached(j, 60000)) << j << "\n" << Dump();
    ASSERT_EQ(Rv("hosts drain h3 --undo"), 0);
  }

  void TearDown() override {
    // Striders first, gracefully: they stop their containers (runc, mounts, netns).
    for (int h = 1; h <= 3; ++h)
      if (Running("strider-h" + std::to_string(h))) Kill("strider-h" + std::to_string(h), SIGTERM);
    for (pid_t c : children_) {
      kill(c, SIGKILL);
      waitpid(c, nullptr, 0);
    }
    for (const char* j : {"x1", "x2", "y1"})
      for (const auto& n : NetnsNamesOf(j)) Sh("ip netns del " + n);
    if (registry_started_) Sh(std::string(RV_REPO_ROOT) + "/scripts/registry stop --dir " + dir_ + "/registry");
    PodHarness::TearDown();
    for (auto it = made_ns_.rbegin(); it != made_ns_.rend(); ++it) Sh("ip netns del " + *it);
    if (!root_veth_.empty()) Sh("ip link del " + root_veth_);
  }

  std::string Host(int h) const { return p_ + "h" + std::to_string(h); }
  std::string HostIp(int h) const { return "10.89." + tag_ + "." + std::to_string(h); }
  // A container's netns is "<container id>-<hash of its strider's run dir>"
  // (two striders on one machine never share one): the newest match.
  static std::vector<std::string> NetnsNamesOf(const std::string& job) {
    std::vector<std::pair<fs::file_time_type, std::string>> found;
    std::string prefix = container::ContainerIdFor(job) + "-";
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/run/netns", ec)) {
      std::string n = e.path().filename().string();
      if (n.rfind(prefix, 0) == 0) found.emplace_back(fs::last_write_time(e.path(), ec), n);
    }
    std::sort(found.rbegin(), found.rend());
    std::vector<std::string> out;
    for (auto& [t, n] : found) out.push_back(n);
    return out;
  }
  static std::string NetnsNameOf(const std::string& job) {
    auto all = NetnsNamesOf(job);
    return all.empty() ? container::ContainerIdFor(job) : all.front();
  }
  static std::string NetnsOf(const std::string& job) { return "/run/netns/" + NetnsNameOf(job); }

  msg::JobSpec Web(const std::string& id, const std::string& env, std::map<std::string, std::string> where) {
    msg::JobSpec j;
    j.id = id;
    j.service = id;
    j.env = env;
    j.app = "web";
    j.image = "stack/busybox:latest";
    j.resources.ram_mb = 32;
    j.rules.constraints = std::move(where);
    j.command = {"/bin/sh", "-c",
                 "mkdir -p /tmp/w && echo " + marker_ + "-" + id + " >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"};
    j.restart = "always";
    return j;
  }

  std::vector<msg::OverlayEnv> Overlay() {
    msg::OverlayListing l;
    if (!AdminRpc().Call(msg::OverlayListRequest{""}, &l, std::chrono::milliseconds(2000)).ok()) return {};
    return l.envs;
  }
  // The job's overlay address and host per sauron ("" if none).
  std::pair<std::string, std::string> AddrOf(const std::string& job) {
    for (const auto& e : Overlay())
      for (const auto& r : e.routes)
        if (r.job_id == job) return {r.addr, r.host_id};
    return {"", ""};
  }
  // Sauron gave it an address and its container's eth0 carries it.
  bool WaitAttached(const std::string& job, int timeout_ms) {
    return WaitFor([&] {
      auto [addr, host] = AddrOf(job);
      if (addr.empty()) return false;
      return Sh("ip -n " + NetnsNameOf(job) + " addr show dev eth0 2>/dev/null | grep -q 'inet " + addr + "/'") == 0;
    }, timeout_ms);
  }
  int RunInJob(const std::string& job, std::function<int()> fn, int timeout_ms = 10000) {
    return WaitChild(SpawnInNetns(NetnsOf(job), std::move(fn)), timeout_ms);
  }
  pid_t SpawnInJob(const std::string& job, std::function<int()> fn) {
    pid_t pid = SpawnInNetns(NetnsOf(job), std::move(fn));
    children_.push_back(pid);
    return pid;
  }
  json Stats(int h) {
    auto r = overlay::ControlRequest(dir_ + "/overlayd-h" + std::to_string(h) + ".sock", "stats");
    return r.ok() ? json::parse(*r, nullptr, false) : json();
  }
  int Rv(const std::string& args) { return Sh(std::string(RV_RV_BIN) + " --pod " + pod_json_ + " " + args); }

  std::string p_, tag_, root_ip_, ul_, root_veth_, registry_, marker_;
  bool registry_started_ = false;
  std::vector<std::string> made_ns_;
  std::vector<pid_t> children_;
};

TEST_F(OverlayPodTest, ContainersTalkIsolatedSealedRotateAndMove) {
  auto [x1, h_x1] = AddrOf("x1");
  auto [x2, h_x2] = AddrOf("x2");
  auto [y1, h_y1] = AddrOf("y1");
  ASSERT_EQ(h_x1, "h1");
  ASSERT_EQ(h_x2, "h2");
  ASSERT_EQ(h_y1, "h1");
  auto envs = Overlay();
  ASSERT_EQ(envs.size(), 2u);
  EXPECT_NE(envs[0].subnet, envs[1].subnet);

  // Capture the underlay for the whole exchange.
  std::string pcap = dir_ + "/underlay.pcap";
  pid_t td = fork();
  if (td == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("ip", "ip", "netns", "exec", ul_.c_str(), "tcpdump", "-i", "br0", "-U", "-s", "0", "-w", pcap.c_str(),
           nullptr);
    _exit(127);
  }
  children_.push_back(td);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));

  // Same environment, across hosts: TCP to the app (httpd in x1, x2) and a
  // TCP/UDP echo in x1's network namespace.
  std::string m = marker_;
  SpawnInJob("x1", [] { return TcpEchoServer(5000); });
  SpawnInJob("x1", [m, this] { return UdpEchoServer(5001, m, dir_ + "/udp-x1"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string x1s = x1, x2s = x2, y1s = y1;
  EXPECT_EQ(RunInJob("x2", [x1s, m] { return HttpGet(x1s, m + "-x1"); }), 0) << "x2 -> x1 httpd over the overlay";
  EXPECT_EQ(RunInJob("x1", [x2s, m] { return HttpGet(x2s, m + "-x2"); }), 0) << "x1 -> x2 httpd over the overlay";
  EXPECT_EQ(RunInJob("x2", [x1s, m] { return TcpEchoCheck(x1s.c_str(), 5000, m, 1 << 20); }), 0);
  EXPECT_EQ(RunInJob("x2", [x1s, m] { return UdpPing(x1s.c_str(), 5001, m + "-udp", 20, 200); }), 0);

  // Env Y on the same host as x1 reaches nothing of X, by any address, even spoofing.
  for (const std::string& target : {x1s, x2s}) {
    EXPECT_NE(RunInJob("y1", [target, m] { return HttpGet(target, m, 500); }), 0) << "y1 reached " << target;
    EXPECT_NE(RunInJob("y1", [target, m] { return UdpPing(target.c_str(), 5001, m + "-fromY", 3, 200); }), 0);
  }
  // Gateway filtering: a service on h1 answers on the container's gateway
  // (169.254.1.1) only; h1's underlay address, the other hosts and the control
  // plane (sauron's API on the root netns) are out of reach.
  children_.push_back(SpawnInNetns("/run/netns/" + Host(1), [] { return TcpEchoServer(5002); }));
  children_.push_back(SpawnInNetns("/run/netns/" + Host(1), [] { return TcpEchoServer(5003); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(RunInJob("y1", [m] { return TcpEchoCheck("169.254.1.1", 5002, m, 1000); }), 0) << "own gateway";
  // ... and only on the pod's gateway ports (sauron --overlay-gateway-ports tcp/5002).
  EXPECT_NE(RunInJob("y1", [m] { return TcpEchoCheck("169.254.1.1", 5003, m, 1000); }), 0) << "gateway port 5003";
  for (int h = 1; h <= 3; ++h) {
    std::string hip = HostIp(h);
    EXPECT_NE(RunInJob("y1", [hip, m] { return TcpEchoCheck(hip.c_str(), 5002, m, 1000); }), 0) << hip;
  }
  std::string rip = root_ip_;
  int api = api_port_;
  EXPECT_NE(RunInJob("y1", [rip, api] {
    int fd = TcpConnect(rip.c_str(), uint16_t(api), 500);
    if (fd >= 0) close(fd);
    return fd >= 0 ? 0 : 1;
  }), 0) << "a container reached sauron's API";
  auto marker_count = [&] {
    std::ifstream f(dir_ + "/udp-x1");
    int n = 0;
    f >> n;
    return n;
  };
  int before = marker_count();
  for (const std::string& src : {x2s, x1s, y1s}) {
    auto pkt = UdpPacket(A(src.c_str()), A(x1s.c_str()), 5001, m + "-spoofed");
    EXPECT_EQ(RunInJob("y1", [pkt, x1s] { return RawSend(pkt, x1s.c_str()); }), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(marker_count(), before) << "a spoofed datagram from env Y reached x1";

  // Nothing but sealed UDP on the underlay: the marker never appears.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(td, SIGINT);
  WaitChild(td, 3000);
  auto frames = ReadPcap(pcap);
  ASSERT_GT(frames.size(), 10u) << "capture is empty";
  int sealed = 0;
  for (const auto& f : frames) {
    EXPECT_EQ(f.find(marker_), std::string::npos) << "plaintext marker on the underlay";
    // Ethernet + IPv4 + UDP to port 7800.
    if (f.size() > 42 && uint8_t(f[23]) == IPPROTO_UDP && ((uint8_t(f[36]) << 8) | uint8_t(f[37])) == kPort) ++sealed;
  }
  EXPECT_GT(sealed, 10);

  // Captured datagrams h2 -> h1, replayed from h2: every one is dropped as a replay.
  std::vector<std::string> replay;
  std::string h1ip = HostIp(1), h2ip = HostIp(2);
  for (const auto& f : frames) {
    if (f.size() < 14 + 20 + 8 || uint8_t(f[23]) != IPPROTO_UDP) continue;
    size_t ihl = (uint8_t(f[14]) & 0xf) * 4;
    in_addr src, dst;
    memcpy(&src, f.data() + 26, 4);
    memcpy(&dst, f.data() + 30, 4);
    size_t udp = 14 + ihl;
    if (f.size() <= udp + 8 || ((uint8_t(f[udp + 2]) << 8) | uint8_t(f[udp + 3])) != kPort) continue;
    if (std::string(inet_ntoa(src)) != h2ip || std::string(inet_ntoa(dst)) != h1ip) continue;
    replay.push_back(f.substr(udp + 8));
    if (replay.size() >= 200) break;
  }
  ASSERT_GT(replay.size(), 5u) << "no h2 -> h1 datagrams captured";
  auto counter = [&](const char* name) {
    json st = Stats(1);
    return st.contains("counters") ? st["counters"].value(name, uint64_t{0}) : uint64_t{0};
  };
  uint64_t replays_before = counter("drop_replay");
  EXPECT_EQ(WaitChild(SpawnInNetns("/run/netns/" + Host(2), [replay, h1ip] {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa = Sa(h1ip.c_str(), kPort);
    for (const auto& d : replay) {
      sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      usleep(200);
    }
    return 0;
  }), 10000), 0);
  EXPECT_TRUE(WaitFor([&] { return counter("drop_replay") >= replays_before + replay.size() / 2; }, 3000))
      << "replayed " << replay.size() << ", drop_replay " << replays_before << " -> " << counter("drop_replay");

  // Key rotation under a continuous transfer (x2 -> x1): no connection lost.
  std::string progress = dir_ + "/stream";
  pid_t stream = SpawnInJob("x2", [x1s, progress] { return StreamEcho(x1s.c_str(), 5000, 5000, progress); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(Rv("env:rotate-key x"), 0);
  EXPECT_EQ(WaitChild(stream, 20000), 0) << "the connection broke during the rotation";
  children_.erase(std::find(children_.begin(), children_.end(), stream));
  {
    std::ifstream f(progress);
    uint64_t total = 0;
    f >> total;
    EXPECT_GT(total, 1u << 20);
  }
  EXPECT_TRUE(WaitFor([&] {
    json s = Stats(1);
    for (auto& [id, e] : s["envs"].items())
      if (e.value("send_epoch", 0) == 2 && e["epochs"].size() == 1) return true;
    return false;
  }, 5000)) << "h1 never settled on epoch 2 alone: " << Stats(1).dump();

  // A host that no longer runs an env forgets it: stop y1, h1 drops env Y.
  size_t envs_h1 = Stats(1)["envs"].size();
  EXPECT_EQ(Rv("stop y1"), 0);
  EXPECT_TRUE(WaitFor([&] { return Stats(1)["envs"].size() == envs_h1 - 1; }, 10000)) << Stats(1).dump();

  // Move x2 to h3: drain h2, stop its strider (it stops x2), sauron re-places x2.
  EXPECT_EQ(Rv("hosts drain h2"), 0);
  Kill("strider-h2", SIGTERM);
  std::string new_addr;
  int64_t reported = 0;
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& j : Jobs()) {
      if (j.spec.id == "x2" && j.host_id == "h3" && j.state == "placed" && j.run_state == "running") {
        reported = MonotonicMs();
        return true;
      }
    }
    return false;
  }, 60000)) << Dump();
  new_addr = AddrOf("x2").first;
  ASSERT_FALSE(new_addr.empty());
  EXPECT_NE(new_addr, x2s) << "an address reused inside its quarantine";
  std::string want = m + "-x2";
  int rc = 1;
  while (rc != 0 && MonotonicMs() - reported < 5000) {
    rc = RunInJob("x1", [new_addr, want] { return HttpGet(new_addr, want, 200); }, 2000);
  }
  int64_t took = MonotonicMs() - reported;
  EXPECT_EQ(rc, 0) << "x2 unreachable at " << new_addr << " on h3";
  EXPECT_LT(took, 1000) << "x2 reachable only " << took << " ms after sauron reported it running on h3";
  std::cerr << "moved container reachable " << took << " ms after it was reported running on h3\n";
  EXPECT_NE(RunInJob("y1", [] { return 0; }), 0) << "y1's netns should be gone";
  // h2's strider is dead: its overlayd's lease (5 s) runs out and it wipes
  // every env's keys and routes instead of holding them until a strider returns.
  EXPECT_TRUE(WaitFor([&] {
    json st = Stats(2);
    return st.is_object() && (!st.contains("envs") || st["envs"].empty()) &&
           st["counters"].value("lease_expired", 0) >= 1;
  }, 10000)) << Stats(2).dump();
}

}  // namespace
}  // namespace rv::test
