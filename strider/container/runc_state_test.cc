// RuncStateAlive: what the strider (Adopt) and sceptre (HostScan) take for a
// running container, from runc's state dir alone.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "strider/container/container_runtime.h"

namespace rv::container {
namespace {

namespace fs = std::filesystem;

uint64_t MyStartTime() {
  std::ifstream st("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  std::istringstream f(s.substr(s.rfind(')') + 2));
  std::string x;
  for (int i = 3; i <= 22 && f >> x; ++i) {
  }
  return std::stoull(x);
}

class RuncState : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rv-runc-state-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "rv-c1");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string State(pid_t pid, uint64_t start) {
    std::string p = (dir_ / "rv-c1" / "state.json").string();
    std::ofstream(p) << "{\"id\":\"rv-c1\",\"init_process_pid\":" << pid << ",\"init_process_start\":" << start << "}";
    return p;
  }
  fs::path dir_;
};

TEST_F(RuncState, AStartedInitThatLivesIsRunning) {
  pid_t pid = -1;
  EXPECT_TRUE(RuncStateAlive(State(getpid(), MyStartTime()), &pid));
  EXPECT_EQ(pid, getpid());
}

TEST_F(RuncState, ACreatedContainerStillWaitingOnItsExecFifoIsNotRunning) {
  std::string p = State(getpid(), MyStartTime());
  ASSERT_EQ(mkfifo((dir_ / "rv-c1" / "exec.fifo").c_str(), 0600), 0);
  EXPECT_FALSE(RuncStateAlive(p));
}

TEST_F(RuncState, AReusedPidIsNotTheContainersInit) {
  EXPECT_FALSE(RuncStateAlive(State(getpid(), MyStartTime() + 1)));
}

TEST_F(RuncState, NoOrGarbledStateIsNotRunning) {
  EXPECT_FALSE(RuncStateAlive((dir_ / "rv-c1" / "state.json").string()));
  std::ofstream((dir_ / "rv-c1" / "state.json").string()) << "{not json";
  EXPECT_FALSE(RuncStateAlive((dir_ / "rv-c1" / "state.json").string()));
}

}  // namespace
}  // namespace rv::container
