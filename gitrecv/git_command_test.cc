#include "gitrecv/git_command.h"

#include <gtest/gtest.h>

namespace rv::gitrecv {

TEST(GitShell, AcceptsReceivePackOfAnAppRepoAsGitQuotesIt) {
  auto c = ParseGitCommand("git-receive-pack '/acme/prod/web.git'");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->push());
  EXPECT_EQ(c->app.ToString(), "acme/prod/web");
  EXPECT_EQ(RepoPath("/srv/repos", c->app), "/srv/repos/acme/prod/web.git");
  EXPECT_EQ(LockPath("/srv/repos", c->app), "/srv/repos/acme/prod/web.lock");
}

TEST(GitShell, AcceptsUploadPackAndScpStylePathsWithoutDotGit) {
  for (const char* ok : {"git-upload-pack 'acme/prod/web.git'", "git-upload-pack 'acme/prod/web'",
                         "git upload-pack '/acme/prod/web.git/'", "git-upload-pack acme/prod/web.git"}) {
    auto c = ParseGitCommand(ok);
    ASSERT_TRUE(c.ok()) << ok << ": " << c.status().message();
    EXPECT_FALSE(c->push());
    EXPECT_EQ(c->app.ToString(), "acme/prod/web");
  }
}

TEST(GitShell, RefusesAShell) {
  auto c = ParseGitCommand("");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no shell"), std::string::npos);
}

TEST(GitShell, RefusesEveryOtherCommand) {
  for (const char* bad : {"sh", "bash -i", "ls /", "git-upload-archive 'acme/prod/web.git'", "scp -t /tmp",
                          "git-receive-pack", "git-receive-pack ", "rsync --server", "git-receive-pack-x 'a/b/c'",
                          "internal-sftp", "git -c core.sshCommand=x upload-pack 'a/b/c'"}) {
    EXPECT_FALSE(ParseGitCommand(bad).ok()) << bad;
  }
}

TEST(GitShell, RefusesAPathOutsideTheRepoRoot) {
  for (const char* bad : {"git-receive-pack '../../etc/passwd'", "git-receive-pack '/acme/prod/../../../x.git'",
                          "git-receive-pack '/etc/passwd'", "git-upload-pack '~root/x.git'",
                          "git-upload-pack '/acme/prod/web/../../other/web.git'", "git-receive-pack '/acme/prod/..git'",
                          "git-receive-pack '/acme/prod/web.git/objects'", "git-receive-pack '/acme/prod'",
                          "git-receive-pack '//acme/prod/web.git'", "git-receive-pack '/acme/./prod/web.git'"}) {
    EXPECT_FALSE(ParseGitCommand(bad).ok()) << bad;
  }
}

TEST(GitShell, RefusesShellMetacharactersAndSecondArguments) {
  for (const char* bad : {"git-receive-pack 'acme/prod/web.git'; rm -rf /", "git-receive-pack 'acme/prod/web.git' x",
                          "git-receive-pack 'acme/prod/w'\\''eb.git'", "git-upload-pack 'acme/prod/web.git",
                          "git-upload-pack $(id)/a/b", "git-upload-pack 'acme/prod/web.git'\n id",
                          "git-upload-pack \"acme/prod/web.git\"", "git-upload-pack 'Acme/prod/web.git'"}) {
    EXPECT_FALSE(ParseGitCommand(bad).ok()) << bad;
  }
}

TEST(GitShell, MessagesQuoteHostileInputSafely) {
  auto c = ParseGitCommand("\x1b]0;owned\x07");
  ASSERT_FALSE(c.ok());
  for (char ch : c.status().message()) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << int(ch);
}

}  // namespace rv::gitrecv
