// The git remote line `rv apps:create` prints, and where rv finds the git
// server's URL. The commands against a real sauron and sshd are in
// gitrecv/gitrecv_push_test.sh.
#include "cli/account_cmds.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rv::cli {

TEST(AppsCreate, PrintsTheAppsGitUrlUnderTheServersBase) {
  msg::AppInfo a{"acme", "prod", "web", "main", 0};
  EXPECT_EQ(GitRemoteUrl("ssh://rvgit@10.0.0.1:7430", a), "ssh://rvgit@10.0.0.1:7430/acme/prod/web.git");
}

TEST(AppsCreate, FindsTheGitUrlInTheFlagTheEnvironmentOrThePodDir) {
  namespace fs = std::filesystem;
  fs::path pod = fs::temp_directory_path() / ("rv-acct-cmds-" + std::to_string(getpid()));
  fs::create_directories(pod / "gitrecv");
  unsetenv("RV_GIT_URL");
  EXPECT_EQ(GitBaseUrl("", pod.string()), "");
  std::ofstream(pod / "gitrecv" / "url") << "ssh://rvgit@127.0.0.1:7430\n";
  EXPECT_EQ(GitBaseUrl("", pod.string()), "ssh://rvgit@127.0.0.1:7430");
  setenv("RV_GIT_URL", "ssh://git@example:22", 1);
  EXPECT_EQ(GitBaseUrl("", pod.string()), "ssh://git@example:22");
  EXPECT_EQ(GitBaseUrl("ssh://x@y:1", pod.string()), "ssh://x@y:1");
  unsetenv("RV_GIT_URL");
  fs::remove_all(pod);
}

}  // namespace rv::cli
