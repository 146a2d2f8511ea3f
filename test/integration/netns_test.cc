// Striders inside network namespaces: each "host" has its own network stack,
// reached from the root namespace (sauron, elrond) over a veth pair with
// 10.77.x.y addresses this test creates and deletes.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "common/clock.h"
#include "test/integration/pod_harness.h"
#include "common/testing/installed.h"

namespace rv::test {
namespace {

int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class NetnsPod : public PodHarness {
 protected:
  void SetUp() override {
    PodHarness::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(rv::testing::Installed({"ip", "nsenter"}));
    int tag = getpid() % 100;
    for (int i = 0; i < 2; ++i) {
      Ns ns;
      ns.name = "rvit" + std::to_string(getpid()) + "-" + std::to_string(i);
      ns.veth_root = "rvr" + std::to_string(getpid() % 100000) + "x" + std::to_string(i);
      ns.veth_ns = "rvn" + std::to_string(getpid() % 100000) + "x" + std::to_string(i);
      std::string net = "10.77." + std::to_string(tag * 2 + i) + ".";
      ns.root_ip = net + "1";
      ns.ns_ip = net + "2";
      namespaces_.push_back(ns);  // recorded first: TearDown deletes even a half-made one
      std::string in = "ip netns exec " + ns.name + " ";
      ASSERT_EQ(Sh("ip netns add " + ns.name), 0) << "ip netns add failed";
      ASSERT_EQ(Sh("ip link add " + ns.veth_root + " type veth peer name " + ns.veth_ns), 0);
      ASSERT_EQ(Sh("ip link set " + ns.veth_ns + " netns " + ns.name), 0);
      ASSERT_EQ(Sh("ip addr add " + ns.root_ip + "/24 dev " + ns.veth_root), 0);
      ASSERT_EQ(Sh("ip link set " + ns.veth_root + " up"), 0);
      ASSERT_EQ(Sh(in + "ip addr add " + ns.ns_ip + "/24 dev " + ns.veth_ns), 0);
      ASSERT_EQ(Sh(in + "ip link set " + ns.veth_ns + " up"), 0);
      ASSERT_EQ(Sh(in + "ip link set lo up"), 0);
    }
  }
  void TearDown() override {
    PodHarness::TearDown();  // processes first: they live in the namespaces
    for (const auto& ns : namespaces_) {
      Sh("ip netns del " + ns.name);
      Sh("ip link del " + ns.veth_root);  // gone with the namespace; in case it was never moved
    }
  }
  struct Ns {
    std::string name, veth_root, veth_ns, root_ip, ns_ip;
  };
  std::vector<Ns> namespaces_;
};

TEST_F(NetnsPod, StridersInNamespacesBidOverVethAndLossIsDetected) {
  WritePod({{"n1", {{"zone", "a"}, {"role", "app"}}}, {"n2", {{"zone", "b"}, {"role", "app"}}}}, "0.0.0.0");
  ASSERT_GT(StartSauron(), 0);
  ASSERT_GT(StartElrond(), 0);
  ASSERT_TRUE(WaitFor([&] { return ElrondReady(); }, 10000)) << Dump();
  for (int i = 0; i < 2; ++i) {
    const Ns& ns = namespaces_[i];
    std::string host = "n" + std::to_string(i + 1);
    std::string root = "tcp://" + ns.root_ip + ":";
    ASSERT_GT(StartStrider(host,
                           {"--sauron-api", root + std::to_string(api_port_), "--sauron-pub",
                            root + std::to_string(pub_port_), "--elrond", root + std::to_string(elrond_port_),
                            "--address", ns.ns_ip},
                           {"/usr/sbin/ip", "netns", "exec", ns.name}),
              0);
  }
  ASSERT_TRUE(WaitFor([&] { return HostsUp() == 2; }, 15000)) << Dump();
  for (const auto& h : Hosts()) {
    EXPECT_EQ(h.address.rfind("10.77.", 0), 0u) << h.id << " " << h.address;
  }
  std::vector<msg::JobSpec> jobs;
  for (int i = 1; i <= 2; ++i) {
    auto j = SleepJob("ns-" + std::to_string(i), "ns");
    j.rules.ha = true;
    jobs.push_back(j);
  }
  ASSERT_TRUE(Submit(jobs).ok());
  ASSERT_TRUE(WaitFor([&] { return AllPlacedAndRunningOnce({"ns-1", "ns-2"}); }, 20000)) << Dump();
  std::set<std::string> used;
  for (const auto& j : Jobs()) used.insert(j.host_id);
  EXPECT_EQ(used, (std::set<std::string>{"n1", "n2"}));

  int64_t t0 = MonotonicMs();
  Kill("strider-n2", SIGKILL);
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& h : Hosts()) {
      if (h.id == "n2") return h.state == "lost";
    }
    return false;
  }, lost_after_ms_ + 5000)) << Dump();
  std::cerr << "namespace host n2 marked lost after " << MonotonicMs() - t0 << " ms\n";
  EXPECT_LE(MonotonicMs() - t0, lost_after_ms_ + 300);
}

}  // namespace
}  // namespace rv::test
