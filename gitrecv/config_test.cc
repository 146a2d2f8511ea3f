#include "gitrecv/config.h"

#include <gtest/gtest.h>

#include "gitrecv/commands.h"

namespace rv::gitrecv {

TEST(GitrecvConfig, RoundTripsAndRefusesUnknownKeys) {
  GitrecvConfig c;
  c.repo_root = "/srv/git/repos";
  c.on_push = {"/usr/lib/rv/rv-deploy", "--pod", "/srv/pod/pod.json"};
  c.port = 2222;
  c.max_repo_bytes = 12345;
  auto back = ParseGitrecvConfig(GitrecvConfigJson(c));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->on_push, c.on_push);
  EXPECT_TRUE(back->on_run.empty()) << "no console unless set";
  c.on_run = {"/usr/lib/rv/rv", "--pod", "/srv/pod/pod.json", "run"};
  EXPECT_EQ(ParseGitrecvConfig(GitrecvConfigJson(c))->on_run, c.on_run);
  EXPECT_TRUE(back->on_app.empty()) << "no app commands unless set";
  c.on_app = {"/usr/lib/rv/rv", "--pod", "/srv/pod/pod.json"};
  EXPECT_EQ(ParseGitrecvConfig(GitrecvConfigJson(c))->on_app, c.on_app);
  EXPECT_EQ(back->port, 2222);
  EXPECT_EQ(back->max_repo_bytes, 12345);
  EXPECT_FALSE(ParseGitrecvConfig(R"({"repo_root": "/r", "on_push": "x", "max_repo_byte": 1})").ok());
  EXPECT_FALSE(ParseGitrecvConfig(R"({"repo_root": "relative", "on_push": "x"})").ok());
  EXPECT_FALSE(ParseGitrecvConfig(R"({"repo_root": "/r"})").ok());
  EXPECT_TRUE(ParseGitrecvConfig(R"({"repo_root": "/r", "on_push": "/bin/true"})").ok());
}

TEST(GitrecvConfig, AnEnrolledKeyMayOnlyRunGitrecvShell) {
  GitrecvConfig c;
  c.binary = "/usr/local/bin/gitrecv";
  c.path = "/srv/git/gitrecv.json";
  EXPECT_EQ(AuthorizedKeyLine(c, "alice", "ssh-ed25519", "AAAAblob"),
            "restrict,command=\"/usr/local/bin/gitrecv --config /srv/git/gitrecv.json shell alice\" ssh-ed25519 AAAAblob");
}

TEST(GitrecvConfig, SshdConfigAsksSauronForKeysAndAllowsNoForwarding) {
  GitrecvConfig c;
  c.binary = "/usr/local/bin/gitrecv";
  c.path = "/srv/git/gitrecv.json";
  c.port = 2222;
  std::string s = SshdConfig(c, "/srv/git");
  for (const char* want : {"Port 2222\n", "AuthorizedKeysFile none\n",
                           "AuthorizedKeysCommand /usr/local/bin/gitrecv --config /srv/git/gitrecv.json keys %u %t %k\n",
                           "AllowUsers rvgit\n", "PasswordAuthentication no\n", "DisableForwarding yes\n",
                           "PermitTTY no\n", "PermitRootLogin no\n"}) {
    EXPECT_NE(s.find(want), std::string::npos) << want;
  }
}

}  // namespace rv::gitrecv
