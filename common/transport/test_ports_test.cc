#include "common/transport/test_ports.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

namespace rv::transport {
namespace {

int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0;
  in >> lo;
  return lo;
}

TEST(TestPorts, DistinctBindableAndBelowTheEphemeralRange) {
  std::set<int> seen;
  for (int i = 0; i < 40; ++i) {  // more than a block: the second is reserved too
    int p = ReserveTestPort();
    EXPECT_GE(p, kTestPortBase);
    EXPECT_LT(p, kTestPortBase + kTestPortBlock * kTestPortBlocks);
    EXPECT_TRUE(seen.insert(p).second) << "port " << p << " handed out twice";
  }
  int lo = EphemeralLow();
  if (lo > 0) {
    EXPECT_LT(*seen.rbegin(), lo) << "the kernel's connect() could take these";
  }
}

TEST(TestPorts, ARunOfPortsIsConsecutiveAndNotHandedOutAgain) {
  int first = ReserveTestPorts(21);
  ASSERT_GT(first, 0);
  EXPECT_EQ((first - kTestPortBase) / kTestPortBlock, (first + 20 - kTestPortBase) / kTestPortBlock)
      << "a run stays inside one block";
  int after = ReserveTestPort();
  EXPECT_TRUE(after < first || after > first + 20) << after << " is inside the run at " << first;
  EXPECT_EQ(ReserveTestPorts(0), 0);
  EXPECT_EQ(ReserveTestPorts(kTestPortBlock + 1), 0);
}

TEST(TestPorts, AnotherProcessNeverGetsTheSameBlock) {
  int mine = ReserveTestPort();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int theirs = ReserveTestPort();
    (void)!write(fds[1], &theirs, sizeof theirs);
    _exit(0);
  }
  int theirs = 0;
  ASSERT_EQ(read(fds[0], &theirs, sizeof theirs), static_cast<ssize_t>(sizeof theirs));
  waitpid(pid, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  // The child inherits the parent's bookkeeping (and a copy of its lock fd),
  // but the block is the parent's to hand out.
  EXPECT_NE((theirs - kTestPortBase) / kTestPortBlock, (mine - kTestPortBase) / kTestPortBlock);
}

}  // namespace
}  // namespace rv::transport
