#include "common/transport/test_ports.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <random>

#include "common/transport/loopback.h"

namespace rv::transport {
namespace {

// Whether a listener could bind `port` on every address now: the check that
// skips ports a process outside the scheme (a daemon, a pod someone runs by
// hand) already holds.
bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Locks a free block, starting at a random one so that processes starting
// together do not all contend for block 0. Returns the block, or -1. The lock
// fd stays open (and the block reserved) until the process exits; O_CLOEXEC
// keeps the daemons a test spawns from holding it after the test is gone.
int LockBlock() {
  mkdir(kTestPortLockDir, 01777);
  chmod(kTestPortLockDir, 01777);  // mkdir's mode is masked by the umask
  std::random_device rd;
  int start = static_cast<int>(rd() % kTestPortBlocks);
  for (int n = 0; n < kTestPortBlocks; ++n) {
    int block = (start + n) % kTestPortBlocks;
    std::string path = std::string(kTestPortLockDir) + "/" + std::to_string(block);
    int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return block;
    close(fd);
  }
  return -1;
}

}  // namespace

int ReserveTestPorts(int count) {
  if (count < 1 || count > kTestPortBlock) return 0;
  static std::mutex mu;
  static int next = 0, end = 0;  // the unused rest of this process's block
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(mu);
  if (owner != getpid()) {  // a forked child: the block is its parent's
    owner = getpid();
    next = end = 0;
  }
  // A few blocks at most: a test takes a handful of its block's 32 ports.
  for (int blocks = 0; blocks < 4; ++blocks) {
    while (end - next >= count) {
      int run = 0;
      while (run < count && Bindable(next + run)) ++run;
      if (run == count) {
        next += count;
        return next - count;
      }
      next += run + 1;  // past the taken port
    }
    int block = LockBlock();
    if (block < 0) break;
    next = kTestPortBase + block * kTestPortBlock;
    end = next + kTestPortBlock;
  }
  return 0;
}

int ReserveTestPort() {
  int port = ReserveTestPorts(1);
  return port > 0 ? port : FreeLoopbackPort();
}

}  // namespace rv::transport
