#include "gitrecv/view_command.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv::gitrecv {
namespace {

using Args = std::vector<std::string>;

TEST(ViewCommand, EachVerbBecomesOneFixedRvCommandOnTheApp) {
  auto logs = ParseViewCommand("logs acme/prod/web");
  ASSERT_TRUE(logs.ok()) << logs.status().message();
  EXPECT_EQ(logs->RvArgs(), (Args{"logs", "acme/prod/web", "--safe"})) << "no escape sequence reaches their terminal";
  auto follow = ParseViewCommand("logs acme/prod/web --router --tail");
  ASSERT_TRUE(follow.ok()) << follow.status().message();
  EXPECT_EQ(follow->RvArgs(), (Args{"logs", "acme/prod/web", "--safe", "-f", "--router"}));
  EXPECT_EQ(ParseViewCommand("ps acme/prod/web")->RvArgs(), (Args{"ps", "acme/prod/web"}));
  EXPECT_EQ(ParseViewCommand("releases acme/prod/web")->RvArgs(), (Args{"releases", "acme/prod/web"}));
  EXPECT_EQ(ParseViewCommand("builds acme/prod/web")->RvArgs(), (Args{"builds", "acme/prod/web"}));
  EXPECT_EQ(ParseViewCommand("builds:output acme/prod/web 12")->RvArgs(), (Args{"builds-output", "acme/prod/web", "12"}));
}

TEST(ViewCommand, TheRunnerParsesTheRequestsWordsAgainAndGetsTheSameCommand) {
  for (const std::string line : {"logs acme/prod/web -f --router", "logs acme/prod/web", "ps acme/prod/web",
                                  "builds:output acme/prod/web 3"}) {
    auto v = ParseViewCommand(line);
    ASSERT_TRUE(v.ok()) << line;
    auto again = ParseViewRequest(v->app.ToString(), v->Words());
    ASSERT_TRUE(again.ok()) << line << ": " << again.status().message();
    EXPECT_EQ(again->RvArgs(), v->RvArgs());
  }
  EXPECT_FALSE(ParseViewRequest("acme/prod/web", "logs --data-dir /").ok());
  EXPECT_FALSE(ParseViewRequest("acme/prod/web", "stop").ok());
  EXPECT_FALSE(ParseViewRequest("acme/prod/web", "ps other/prod/web").ok()) << "one app only";
}

TEST(ViewCommand, OnlyTheListedVerbsAreViews) {
  EXPECT_TRUE(IsView("logs acme/prod/web"));
  EXPECT_TRUE(IsView("ps"));
  EXPECT_FALSE(IsView("run acme/prod/web ls"));
  EXPECT_FALSE(IsView("git-upload-pack 'acme/prod/web.git'"));
  EXPECT_FALSE(IsView("logsx acme/prod/web"));
  EXPECT_FALSE(IsView("stop acme.prod.web.web.v1.1.abc"));
  EXPECT_FALSE(IsView(""));
}

TEST(ViewCommand, RefusesAnyWordItDoesNotListWithOnePrintableLine) {
  for (const std::string& bad : std::vector<std::string>{
           "logs", "logs ", "ps acme/prod", "logs ../../etc/passwd", "logs acme/prod/web --data-dir /tmp",
           "logs acme/prod/web -f -f", "logs acme/prod/web --tail-bytes 1", "ps acme/prod/web -f",
           "releases acme/prod/web --router", "builds:output acme/prod/web", "builds:output acme/prod/web 0",
           "builds:output acme/prod/web -1", "builds:output acme/prod/web 1 2", "builds:output acme/prod/web 1e3",
           "logs acme/prod/web\n-f", "logs acme/prod/web\t-f", "logs acme/prod/web " + std::string(600, 'x'),
           "logs acme/prod/web; rm -rf /", "logs acme/prod/web caf\xe9"}) {
    auto v = ParseViewCommand(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_FALSE(v.status().message().empty());
      EXPECT_EQ(v.status().message().find('\n'), std::string::npos) << "one line: " << v.status().message();
    }
  }
}

}  // namespace
}  // namespace rv::gitrecv
