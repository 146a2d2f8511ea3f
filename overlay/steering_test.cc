#include "overlay/steering.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "overlay/tun.h"
#include "overlay/udp.h"

namespace rv::overlay {
namespace {

std::vector<int> TwoCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// Which of fds becomes readable within 1 s (-1: none); drains it.
int ReadableOf(const std::vector<int>& fds) {
  std::vector<pollfd> p;
  for (int fd : fds) p.push_back({fd, POLLIN, 0});
  if (poll(p.data(), p.size(), 1000) <= 0) return -1;
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i].revents & POLLIN) {
      char buf[2048];
      while (read(fds[i], buf, sizeof(buf)) > 0) {
      }
      return int(i);
    }
  }
  return -1;
}

class SteeringOnTwoCpus : public ::testing::Test {
 protected:
  void SetUp() override {
    cpus_ = TwoCpus();
    if (cpus_.size() < 2) GTEST_SKIP() << "needs two CPUs";
    CPU_ZERO(&saved_);
    pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  void TearDown() override {
    if (cpus_.size() >= 2) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  std::vector<int> cpus_;
  cpu_set_t saved_;
};

// A datagram goes to the socket of the lane on the CPU that received it (on
// loopback, the sender's CPU).
TEST_F(SteeringOnTwoCpus, UdpDatagramReachesTheSocketOfTheLaneOnItsCpu) {
  const uint32_t lo = 0x7f000001;
  auto first = UdpSocket::Open(lo, 0, 100, true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  sockaddr_in sa{};
  socklen_t sl = sizeof(sa);
  ASSERT_EQ(getsockname(first->fd(), reinterpret_cast<sockaddr*>(&sa), &sl), 0);
  auto second = UdpSocket::Open(lo, ntohs(sa.sin_port), 100, true);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE(AttachUdpCpuSteering(first->fd(), cpus_).ok());
  int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(tx, 0);
  for (int round = 0; round < 3; round++) {
    for (int lane = 0; lane < 2; lane++) {
      ASSERT_TRUE(PinTo(cpus_[size_t(lane)]));
      ASSERT_EQ(sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 1);
      EXPECT_EQ(ReadableOf({first->fd(), second->fd()}), lane) << "sent from CPU " << cpus_[size_t(lane)];
    }
  }
  close(tx);
}

TEST(SteeringTest, UdpSteeringNeedsAReuseportSocket) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  Status s = AttachUdpCpuSteering(fd, {0, 1});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("SO_ATTACH_REUSEPORT_CBPF"), std::string::npos) << s.ToString();
  close(fd);
}

// A packet the kernel sends into a multiqueue TUN lands on the queue of the
// lane on the CPU that sent it. In a private network namespace, in a child.
TEST_F(SteeringOnTwoCpus, TunPacketLandsOnTheQueueOfTheLaneOnItsCpu) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::vector<int> cpus = cpus_;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(10);
    auto tun = Tun::Open("rvsteer0", false, 2);
    if (!tun.ok()) _exit(11);
    auto prog = LoadTunCpuSteering(cpus);
    if (!prog.ok()) _exit(12);
    if (!AttachTunSteering(tun->fd(), *prog).ok()) _exit(13);
    close(*prog);
    // No IPv6 on it: its router solicitations would land on a queue too.
    if (system("echo 1 > /proc/sys/net/ipv6/conf/rvsteer0/disable_ipv6; "
               "ip addr add 10.9.9.1/24 dev rvsteer0 && ip link set rvsteer0 up") != 0)
      _exit(14);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(0x0a090902);
    for (int round = 0; round < 3; round++) {
      for (int lane = 0; lane < 2; lane++) {
        if (!PinTo(cpus[size_t(lane)])) _exit(15);
        if (sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 1) _exit(16);
        if (ReadableOf({tun->queue_fd(0), tun->queue_fd(1)}) != lane) _exit(20 + lane);
      }
    }
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10-16: setup step failed; 20+n: the packet sent from lane n's CPU "
                                   "landed on another queue";
}

}  // namespace
}  // namespace rv::overlay
