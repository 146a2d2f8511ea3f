// overlayd's gateway filter and lease, one namespace host with one container
// (needs root, iproute2, iptables). Names start with "ovh<pid>" / the
// "overlay-harden" prefix; TearDown removes the namespaces (and with them
// every veth, TUN and iptables rule overlayd made) and stops overlayd.
//
//   GatewayOnlyOnAllowedPorts: a container reaches its gateway 169.254.1.1 on
//     the document's gateway_ports; another port is refused (TCP reset), and
//     changing the list re-filters attached containers.
//   LeaseWipesKeysWhenKeepalivesStop: keepalives hold the state; when they
//     stop, overlayd wipes every env (keys, TUN, routes, veths) after
//     --lease-ms, counts lease_expired, answers held=false, and an apply
//     brings the env back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "overlay/control_socket.h"
#include "overlay/netns_test_util.h"
#include "common/testing/installed.h"

using namespace rv::overlay;
using namespace rv::overlay::nettest;
using json = nlohmann::json;

namespace {

class OverlaydHarden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(rv::testing::Installed({"ip", "ping", "iptables"}));
    std::string p = "overlay-harden-" + std::to_string(getpid());
    host_ = p + "-h";
    ctr_ = p + "-c";
    veth_ = "ovh" + std::to_string(getpid() % 1000000);
    char tmpl[] = "/tmp/overlay-harden-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_EQ(Sh("ip netns add " + host_), 0);
    netns_.push_back(host_);
    ASSERT_EQ(Sh("ip netns add " + ctr_), 0);
    netns_.push_back(ctr_);
    ASSERT_EQ(Sh("ip -n " + host_ + " link set lo up"), 0);
  }
  void TearDown() override {
    keepalive_ = false;
    if (keeper_.joinable()) keeper_.join();
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (overlayd_ > 0) {
      kill(overlayd_, SIGTERM);
      if (WaitChild(overlayd_, 3000) == -1) kill(overlayd_, SIGKILL);
    }
    for (auto& n : netns_) Sh("ip netns del " + n);
    if (!dir_.empty()) Sh("rm -rf " + dir_);
  }

  void StartOverlayd(int lease_ms) {
    overlayd_ = fork();
    if (overlayd_ == 0) {
      int fd = open((dir_ + "/overlayd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<std::string> args = {"ip",   "netns",         "exec",   host_, RV_OVERLAYD, "run", "--config",
                                       "/nonexistent", "--socket", Sock(), "--lease-ms", std::to_string(lease_ms)};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("ip", argv.data());
      _exit(127);
    }
    for (int i = 0; i < 100 && !ControlRequest(Sock(), "stats").ok(); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string Sock() const { return dir_ + "/overlayd.sock"; }

  json Doc(const std::vector<std::string>& gateway_ports) {
    json j;
    j["host_id"] = 1;
    j["listen"] = "127.0.0.1:7800";
    j["pod_cidr"] = "10.250.0.0/16";
    j["gateway_ports"] = gateway_ports;
    json e;
    e["id"] = 9;
    e["subnet"] = "10.250.9.0/24";
    e["aead"] = "chacha20poly1305";
    e["keys"] = json::array({{{"epoch", 1}, {"key", std::string(63, '0') + "7"}}});
    e["attachments"] = json::array({{{"addr", "10.250.9.2"}, {"veth", veth_}, {"netns", "/run/netns/" + ctr_}}});
    j["envs"] = json::array({e});
    return j;
  }
  void Apply(const json& doc) {
    auto r = ControlRequest(Sock(), "apply", doc.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(json::parse(*r)["ok"], true) << *r;
  }
  json Stats() {
    auto r = ControlRequest(Sock(), "stats");
    return r.ok() ? json::parse(*r, nullptr, false) : json();
  }
  bool HasEnv() {
    json s = Stats();
    return s.is_object() && s.contains("envs") && s["envs"].contains("9");
  }
  // What a strider's driver does: a keepalive every 300 ms.
  void KeepAlive() {
    keepalive_ = true;
    keeper_ = std::thread([this] {
      while (keepalive_) {
        (void)ControlRequest(Sock(), "keepalive");
        for (int i = 0; i < 6 && keepalive_; i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  void StopKeepAlive() {
    keepalive_ = false;
    if (keeper_.joinable()) keeper_.join();
  }
  int InContainer(std::function<int()> fn, int timeout_ms = 5000) {
    return WaitChild(SpawnInNetns("/run/netns/" + ctr_, std::move(fn)), timeout_ms);
  }
  // 0 if a TCP connection to the gateway port was refused within 1 s (reset).
  static int Refused(uint16_t port) {
    auto t0 = Clock::now();
    int fd = TcpConnect("169.254.1.1", port, 3000);
    if (fd >= 0) {
      close(fd);
      return 1;
    }
    return MsSince(t0) < 1000 ? 0 : 2;  // 2: dropped silently, not refused
  }

  std::string host_, ctr_, veth_, dir_;
  std::vector<std::string> netns_;
  std::vector<pid_t> children_;
  pid_t overlayd_ = -1;
  std::atomic<bool> keepalive_{false};
  std::thread keeper_;
};

TEST_F(OverlaydHarden, GatewayOnlyOnAllowedPorts) {
  StartOverlayd(0);
  Apply(Doc({"tcp/5002"}));
  ASSERT_EQ(Sh("ip -n " + ctr_ + " addr show dev eth0 | grep -q 10.250.9.2"), 0) << "container not plumbed";
  for (uint16_t port : {5002, 5003})
    children_.push_back(SpawnInNetns("/run/netns/" + host_, [port] { return TcpEchoServer(port); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string m = "overlay-harden-gw";
  EXPECT_EQ(InContainer([m] { return TcpEchoCheck("169.254.1.1", 5002, m, 4096); }), 0) << "allowed port";
  EXPECT_EQ(InContainer([] { return Refused(5003); }), 0) << "other port must be refused";
  EXPECT_EQ(InContainer([] { return Refused(22); }), 0);
  // Ping stays open (diagnostics).
  EXPECT_EQ(Sh("ip netns exec " + ctr_ + " ping -c 1 -W 2 169.254.1.1"), 0);
  // The list changes: attached containers are re-filtered.
  Apply(Doc({"tcp/5003", "udp/53"}));
  EXPECT_EQ(InContainer([m] { return TcpEchoCheck("169.254.1.1", 5003, m, 4096); }), 0) << "newly allowed";
  EXPECT_EQ(InContainer([] { return Refused(5002); }), 0) << "no longer allowed";
  // The host can still open connections into the container (replies pass).
  children_.push_back(SpawnInNetns("/run/netns/" + ctr_, [] { return TcpEchoServer(6000); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(WaitChild(SpawnInNetns("/run/netns/" + host_, [m] { return TcpEchoCheck("10.250.9.2", 6000, m, 4096); }),
                      5000),
            0)
      << "host -> container";
}

TEST_F(OverlaydHarden, LeaseWipesKeysWhenKeepalivesStop) {
  StartOverlayd(1000);
  auto r = ControlRequest(Sock(), "keepalive");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(*r)["held"], false) << "nothing applied yet";
  Apply(Doc({}));
  KeepAlive();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(HasEnv()) << "keepalives hold the state past the lease";
  EXPECT_EQ(Stats()["counters"]["lease_expired"], 0);
  r = ControlRequest(Sock(), "keepalive");
  EXPECT_EQ(json::parse(*r)["held"], true);
  // The strider dies.
  StopKeepAlive();
  auto t0 = Clock::now();
  while (HasEnv() && MsSince(t0) < 4000) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t ms = MsSince(t0);
  EXPECT_FALSE(HasEnv()) << "keys still held " << ms << " ms after the last keepalive";
  EXPECT_GE(ms, 600) << "wiped before the lease ran out";
  std::cerr << "wiped " << ms << " ms after the last keepalive (lease 1000 ms)\n";
  EXPECT_EQ(Stats()["counters"]["lease_expired"], 1);
  // The snapshot goes first; the TUN closes once the workers let go of it.
  for (int i = 0; i < 40 && Sh("ip -n " + host_ + " link show rvo-9") == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(Sh("ip -n " + host_ + " link show rvo-9"), 0) << "TUN left behind";
  EXPECT_NE(Sh("ip -n " + host_ + " link show " + veth_), 0) << "veth left behind";
  EXPECT_NE(Sh("ip -n " + host_ + " route show table 10009 | grep -q ."), 0) << "routes left behind";
  r = ControlRequest(Sock(), "keepalive");
  EXPECT_EQ(json::parse(*r)["held"], false) << "the driver must learn it has to apply again";
  std::ifstream log(dir_ + "/overlayd.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("wiping every environment's keys"), std::string::npos) << text;
  // The strider is back: one apply restores the env.
  Apply(Doc({}));
  EXPECT_TRUE(HasEnv());
  r = ControlRequest(Sock(), "keepalive");
  EXPECT_EQ(json::parse(*r)["held"], true);
}

}  // namespace
