#include "gitrecv/app_command.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv::gitrecv {
namespace {

using Args = std::vector<std::string>;

TEST(AppCommand, EachVerbBecomesOneFixedRvCommandOnTheApp) {
  auto logs = ParseAppCommand("logs acme/prod/web");
  ASSERT_TRUE(logs.ok()) << logs.status().message();
  EXPECT_EQ(logs->RvArgs(), (Args{"logs", "acme/prod/web", "--safe"})) << "no escape sequence reaches their terminal";
  auto follow = ParseAppCommand("logs acme/prod/web --router --tail");
  ASSERT_TRUE(follow.ok()) << follow.status().message();
  EXPECT_EQ(follow->RvArgs(), (Args{"logs", "acme/prod/web", "--safe", "-f", "--router"}));
  EXPECT_EQ(ParseAppCommand("ps acme/prod/web")->RvArgs(), (Args{"ps", "acme/prod/web"}));
  EXPECT_EQ(ParseAppCommand("releases acme/prod/web")->RvArgs(), (Args{"releases", "acme/prod/web"}));
  EXPECT_EQ(ParseAppCommand("builds acme/prod/web")->RvArgs(), (Args{"builds", "acme/prod/web"}));
  EXPECT_EQ(ParseAppCommand("builds:output acme/prod/web 12")->RvArgs(), (Args{"builds-output", "acme/prod/web", "12"}));
  EXPECT_EQ(ParseAppCommand("config acme/prod/web")->RvArgs(), (Args{"config", "acme/prod"})) << "its environment's vars";
  EXPECT_EQ(ParseAppCommand("rollback acme/prod/web")->RvArgs(), (Args{"rollback", "acme/prod/web"}));
  EXPECT_EQ(ParseAppCommand("rollback acme/prod/web v7")->RvArgs(), (Args{"rollback", "acme/prod/web", "v7"}));
  EXPECT_EQ(ParseAppCommand("restart acme/prod/web")->RvArgs(), (Args{"restart", "acme/prod/web"}));
  EXPECT_FALSE(ParseAppCommand("restart acme/prod/web v7").ok()) << "the current release only";
  EXPECT_EQ(ParseAppCommand("domains acme/prod/web")->RvArgs(), (Args{"domains", "acme/prod/web"}));
  EXPECT_EQ(ParseAppCommand("domains:add acme/prod/web shop.example.com")->RvArgs(),
            (Args{"domains-add", "acme/prod/web", "shop.example.com"}));
  EXPECT_EQ(ParseAppCommand("domains:remove acme/prod/web shop.example.com")->RvArgs(),
            (Args{"domains-remove", "acme/prod/web", "shop.example.com"}));
}

TEST(AppCommand, DomainsAddAndRemoveTakeOneNameThatIsNoFlag) {
  for (const std::string bad : {"domains:add acme/prod/web", "domains:add acme/prod/web -x.example.com",
                                "domains:add acme/prod/web a.example.com b.example.com",
                                "domains:add acme/prod/web shop.example.com/x", "domains:remove acme/prod/web *.example.com",
                                "domains:add acme/prod/web .example.com", "domains acme/prod/web shop.example.com"}) {
    auto c = ParseAppCommand(bad);
    EXPECT_FALSE(c.ok()) << bad;
  }
  EXPECT_NE(ParseAppCommand("domains:add acme/prod/web -x").status().message().find("not a DNS name"), std::string::npos);
}

TEST(AppCommand, ConfigSetAndUnsetChangeTheAppsEnvironmentsVars) {
  auto set = ParseAppCommand("config:set acme/prod/web GREETING=hello LIMIT=3");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->RvArgs(), (Args{"config-set", "acme/prod", "GREETING=hello", "LIMIT=3"}));
  auto secret = ParseAppCommand("config:set acme/prod/web TOKEN=s3cr=t! --secret");
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->RvArgs(), (Args{"config-set", "acme/prod", "--secret", "TOKEN=s3cr=t!"})) << "the value after the first =";
  auto empty = ParseAppCommand("config:set acme/prod/web EMPTY=");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->RvArgs(), (Args{"config-set", "acme/prod", "EMPTY="}));
  auto unset = ParseAppCommand("config:unset acme/prod/web GREETING LIMIT");
  ASSERT_TRUE(unset.ok()) << unset.status().message();
  EXPECT_EQ(unset->RvArgs(), (Args{"config-unset", "acme/prod", "GREETING", "LIMIT"}));
}

TEST(AppCommand, ConfigSetRefusesWordsThatAreNotOneVarOnce) {
  for (const std::string bad :
       {"config:set acme/prod/web", "config:set acme/prod/web --secret", "config:set acme/prod/web hello world",
        "config:set acme/prod/web A=1 A=2", "config:set acme/prod/web --pod=/x", "config:set acme/prod/web -A=1",
        "config:set acme/prod/web A-B=1", "config:set acme/prod/web =1", "config:set acme/prod/web A=1 --secret --secret",
        "config:unset acme/prod/web", "config:unset acme/prod/web A=1", "config:unset acme/prod/web --secret",
        "config:unset acme/prod/web A A", "config acme/prod/web A=1", "config:set acme/prod/web A=\x01"}) {
    auto c = ParseAppCommand(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_FALSE(c.status().message().empty()) << bad;
    }
  }
  EXPECT_FALSE(ParseAppCommand("config:set acme/prod/web A=1\tB=2").ok()) << "a control byte";
  EXPECT_NE(ParseAppCommand("config:set acme/prod/web hello world").status().message().find("KEY=VALUE"),
            std::string::npos);
  EXPECT_TRUE(ParseAppCommand("config:set acme/prod/web V=" + std::string(3000, 'x')).ok()) << "a long value";
  EXPECT_FALSE(ParseAppCommand("config:set acme/prod/web V=" + std::string(5000, 'x')).ok());
}

TEST(AppCommand, RollbackAndConfigChangesWriteTheOthersOnlyShow) {
  for (const std::string line : {"logs acme/prod/web -f", "ps acme/prod/web", "releases acme/prod/web",
                                 "builds acme/prod/web", "builds:output acme/prod/web 1", "config acme/prod/web"}) {
    EXPECT_FALSE(ParseAppCommand(line)->Writes()) << line;
  }
  EXPECT_TRUE(ParseAppCommand("rollback acme/prod/web v2")->Writes());
  EXPECT_TRUE(ParseAppCommand("config:set acme/prod/web A=1")->Writes()) << "as a push: it rolls the apps out";
  EXPECT_TRUE(ParseAppCommand("config:unset acme/prod/web A")->Writes());
  EXPECT_TRUE(ParseAppCommand("restart acme/prod/web")->Writes());
  EXPECT_TRUE(ParseAppCommand("domains:add acme/prod/web a.example.com")->Writes()) << "where it answers";
  EXPECT_TRUE(ParseAppCommand("domains:remove acme/prod/web a.example.com")->Writes());
  EXPECT_FALSE(ParseAppCommand("domains acme/prod/web")->Writes());
}

TEST(AppCommand, TheRunnerParsesTheRequestsWordsAgainAndGetsTheSameCommand) {
  for (const std::string line : {"logs acme/prod/web -f --router", "logs acme/prod/web", "ps acme/prod/web",
                                  "builds:output acme/prod/web 3", "rollback acme/prod/web v12",
                                  "rollback acme/prod/web", "config acme/prod/web",
                                  "config:set acme/prod/web A=1 --secret B=x=y", "config:unset acme/prod/web A B",
                                  "domains:add acme/prod/web a.example.com"}) {
    auto v = ParseAppCommand(line);
    ASSERT_TRUE(v.ok()) << line;
    auto again = ParseAppRequest(v->app.ToString(), v->Words());
    ASSERT_TRUE(again.ok()) << line << ": " << again.status().message();
    EXPECT_EQ(again->RvArgs(), v->RvArgs());
  }
  EXPECT_FALSE(ParseAppRequest("acme/prod/web", "logs --data-dir /").ok());
  EXPECT_FALSE(ParseAppRequest("acme/prod/web", "stop").ok());
  EXPECT_FALSE(ParseAppRequest("acme/prod/web", "ps other/prod/web").ok()) << "one app only";
}

TEST(AppCommand, OnlyTheListedVerbsAreAppCommands) {
  EXPECT_TRUE(IsAppCommand("logs acme/prod/web"));
  EXPECT_TRUE(IsAppCommand("ps"));
  EXPECT_FALSE(IsAppCommand("run acme/prod/web ls"));
  EXPECT_FALSE(IsAppCommand("git-upload-pack 'acme/prod/web.git'"));
  EXPECT_FALSE(IsAppCommand("logsx acme/prod/web"));
  EXPECT_FALSE(IsAppCommand("stop acme.prod.web.web.v1.1.abc"));
  EXPECT_FALSE(IsAppCommand(""));
}

TEST(AppCommand, RefusesAnyWordItDoesNotListWithOnePrintableLine) {
  for (const std::string& bad : std::vector<std::string>{
           "logs", "logs ", "ps acme/prod", "logs ../../etc/passwd", "logs acme/prod/web --data-dir /tmp",
           "logs acme/prod/web -f -f", "logs acme/prod/web --tail-bytes 1", "ps acme/prod/web -f",
           "releases acme/prod/web --router", "builds:output acme/prod/web", "builds:output acme/prod/web 0",
           "builds:output acme/prod/web -1", "builds:output acme/prod/web 1 2", "builds:output acme/prod/web 1e3",
           "logs acme/prod/web\n-f", "logs acme/prod/web\t-f", "logs acme/prod/web " + std::string(600, 'x'),
           "logs acme/prod/web; rm -rf /", "logs acme/prod/web caf\xe9", "rollback acme/prod/web 7",
           "rollback acme/prod/web v0", "rollback acme/prod/web v07", "rollback acme/prod/web v1 v2",
           "rollback acme/prod/web --help", "config acme/prod/web K=V", "config acme/prod"}) {
    auto v = ParseAppCommand(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_FALSE(v.status().message().empty());
      EXPECT_EQ(v.status().message().find('\n'), std::string::npos) << "one line: " << v.status().message();
    }
  }
}

}  // namespace
}  // namespace rv::gitrecv
