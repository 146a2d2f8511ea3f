#include "deploy/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rv::deploy {
namespace {

namespace fs = std::filesystem;

const char kPrefix[] = "rv-deploy-env";

bool NoneAlive(pid_t) { return false; }
bool AllAlive(pid_t) { return true; }

// A private root per test: other processes' temp dirs are never looked at.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/rv-temp-dir-test.XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    root_ = t;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string root_;
};

TEST(IsOrphanTempDir, IsOursOnlyWithThePrefixAPidAndASuffix) {
  EXPECT_TRUE(IsOrphanTempDir("rv-deploy-env.123.aB9xYz", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.123.", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.123", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env..abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.12a.abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.0.abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.-5.abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.99999999999.abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-envX.123.abc", kPrefix, NoneAlive));
  EXPECT_FALSE(IsOrphanTempDir("other.123.abc", kPrefix, NoneAlive));
  // The old name (no pid): nothing says whose it is.
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.aB9xYz", kPrefix, NoneAlive));
}

TEST(IsOrphanTempDir, NeverTheDirOfALiveProcess) {
  EXPECT_FALSE(IsOrphanTempDir("rv-deploy-env.123.aB9xYz", kPrefix, AllAlive));
  pid_t asked = 0;
  IsOrphanTempDir("rv-deploy-env.4242.x", kPrefix, [&](pid_t p) {
    asked = p;
    return true;
  });
  EXPECT_EQ(asked, 4242);
}

TEST(PidAlive, SaysThisProcessLivesAndAReapedChildDoesNot) {
  EXPECT_TRUE(PidAlive(getpid()));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  // Reaped: the pid is free (reuse within this test is not expected).
  EXPECT_FALSE(PidAlive(child));
}

TEST(TempRoot, HonoursTmpdirAndFallsBackToTmp) {
  const char* old = getenv("TMPDIR");
  std::string saved = old ? old : "";
  setenv("TMPDIR", "/some/where", 1);
  EXPECT_EQ(TempRoot(), "/some/where");
  setenv("TMPDIR", "", 1);
  EXPECT_EQ(TempRoot(), "/tmp");
  unsetenv("TMPDIR");
  EXPECT_EQ(TempRoot(), "/tmp");
  if (old) setenv("TMPDIR", saved.c_str(), 1);
}

TEST_F(TempDirTest, MakesAPrivateDirNamedWithThePidAndRemovesItWithItsFiles) {
  std::string path;
  {
    TempDir d;
    ASSERT_TRUE(d.Create(root_, kPrefix).ok());
    path = d.path();
    EXPECT_EQ(fs::path(path).parent_path(), fs::path(root_));
    EXPECT_EQ(fs::path(path).filename().string().rfind(std::string(kPrefix) + "." + std::to_string(getpid()) + ".", 0), 0u);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    std::ofstream(path + "/VAR") << "value";
    ASSERT_TRUE(fs::exists(path + "/VAR"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(TempDirTest, RemoveIsEarlyAndIdempotent) {
  TempDir d;
  ASSERT_TRUE(d.Create(root_, kPrefix).ok());
  std::string path = d.path();
  d.Remove();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(d.path().empty());
  d.Remove();
}

TEST_F(TempDirTest, FailsClearlyWhereNoDirCanBeMade) {
  TempDir d;
  Status s = d.Create(root_ + "/missing", kPrefix);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(root_ + "/missing"), std::string::npos);
  EXPECT_TRUE(d.path().empty());
}

TEST_F(TempDirTest, SweepRemovesOnlyDeadProcessesDirs) {
  // A SIGKILLed rv-deploy's dir (pid 111, dead), a live one's (pid 222), the
  // old unnamed kind, someone else's dir, a file named like ours.
  for (const char* d : {"rv-deploy-env.111.aaaaaa", "rv-deploy-env.222.bbbbbb", "rv-deploy-env.cccccc", "other.111.dddddd"}) {
    fs::create_directories(root_ + "/" + d + "/sub");
    std::ofstream(root_ + "/" + d + "/sub/VAR") << "x";
  }
  std::ofstream(root_ + "/rv-deploy-env.111.file") << "x";
  int n = SweepOrphanTempDirs(root_, kPrefix, [](pid_t p) { return p == 222; });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(fs::exists(root_ + "/rv-deploy-env.111.aaaaaa"));
  EXPECT_TRUE(fs::exists(root_ + "/rv-deploy-env.222.bbbbbb/sub/VAR"));
  EXPECT_TRUE(fs::exists(root_ + "/rv-deploy-env.cccccc"));
  EXPECT_TRUE(fs::exists(root_ + "/other.111.dddddd"));
  EXPECT_TRUE(fs::exists(root_ + "/rv-deploy-env.111.file"));
}

TEST_F(TempDirTest, SweepNeverFollowsALinkNamedLikeOurs) {
  fs::create_directories(root_ + "/target/keep");
  fs::create_directory_symlink(root_ + "/target", root_ + "/rv-deploy-env.111.link");
  EXPECT_EQ(SweepOrphanTempDirs(root_, kPrefix, NoneAlive), 0);
  EXPECT_TRUE(fs::exists(root_ + "/target/keep"));
}

TEST_F(TempDirTest, SweepOfAMissingRootRemovesNothing) {
  EXPECT_EQ(SweepOrphanTempDirs(root_ + "/missing", kPrefix, NoneAlive), 0);
}

}  // namespace
}  // namespace rv::deploy
