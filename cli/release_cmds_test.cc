#include "cli/release_cmds.h"

#include <gtest/gtest.h>

namespace rv::cli {
namespace {

TEST(ReleaseCommands, TheReleasesTableMarksTheCurrentRelease) {
  msg::ReleaseList l;
  l.current = 1;
  msg::ReleaseRecord r2;
  r2.version = 2;
  r2.state = "failed";
  r2.detail = "crashed at boot";
  r2.digest = "sha256:0123456789abcdef0123";
  r2.formation = {{"web", 2}};
  msg::ReleaseRecord r1 = r2;
  r1.version = 1;
  r1.state = "deployed";
  r1.detail = "";
  l.releases = {r2, r1};
  std::string out = FormatReleases(l);
  EXPECT_NE(out.find("v2"), std::string::npos);
  EXPECT_NE(out.find("crashed at boot"), std::string::npos);
  EXPECT_NE(out.find("web=2"), std::string::npos);
  auto star = out.find('*');
  ASSERT_NE(star, std::string::npos);
  EXPECT_GT(star, out.find("v2")) << "only v1, the current release, is starred:\n" << out;
}

TEST(ReleaseCommands, ScaleCountsAreTypeEqualsNumber) {
  auto c = ParseCounts({"web=3", "worker=0"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("web"), 3);
  EXPECT_EQ(c->at("worker"), 0);
  for (const char* bad : {"web", "=3", "web=", "web=-1", "web=x", "web=99999999999", "web=1000001"}) {
    EXPECT_FALSE(ParseCounts({bad}).ok()) << bad;
  }
  EXPECT_EQ(ParseCounts({"web=1000000"})->at("web"), 1000000);
}

}  // namespace
}  // namespace rv::cli
