#include "gitrecv/push_policy.h"

#include <gtest/gtest.h>

namespace rv::gitrecv {
namespace {

const std::string kA = "1111111111111111111111111111111111111111";
const std::string kB = "2222222222222222222222222222222222222222";

}  // namespace

TEST(PushPolicy, TheDeployBranchDeploys) {
  auto u = CheckRefUpdates({{kA, kB, "refs/heads/main"}}, "main");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->new_oid, kB);
  EXPECT_TRUE(CheckRefUpdates({{kZeroOid, kB, "refs/heads/master"}}, "master").ok());
}

TEST(PushPolicy, AnotherBranchIsRefusedNamingTheBranchThatDeploys) {
  auto u = CheckRefUpdates({{kA, kB, "refs/heads/feature"}}, "main");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("only branch main deploys"), std::string::npos);
  EXPECT_NE(u.status().message().find("HEAD:main"), std::string::npos);
  EXPECT_FALSE(CheckRefUpdates({{kA, kB, "refs/heads/master"}}, "main").ok());
  EXPECT_FALSE(CheckRefUpdates({{kZeroOid, kB, "refs/tags/v1"}}, "main").ok());
}

TEST(PushPolicy, ThePushIsRefusedWholeWhenOneRefIsNotTheDeployBranch) {
  EXPECT_FALSE(CheckRefUpdates({{kA, kB, "refs/heads/main"}, {kZeroOid, kB, "refs/heads/x"}}, "main").ok());
}

TEST(PushPolicy, DeletingTheDeployBranchIsRefused) {
  auto u = CheckRefUpdates({{kA, kZeroOid, "refs/heads/main"}}, "main");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("delete"), std::string::npos);
}

TEST(PushPolicy, AnEmptyPushIsRefused) { EXPECT_FALSE(CheckRefUpdates({}, "main").ok()); }

TEST(PushPolicy, ParsesHookInputAndRefusesGarbage) {
  auto u = ParseRefUpdates(kA + " " + kB + " refs/heads/main\n");
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ(u->at(0).ref, "refs/heads/main");
  EXPECT_FALSE(ParseRefUpdates("x y z\n").ok());
  EXPECT_FALSE(ParseRefUpdates(kA + " " + kB + "\n").ok());
  EXPECT_FALSE(ParseRefUpdates(kA + " " + kB + " refs/heads/main extra\n").ok());
  EXPECT_FALSE(ParseRefUpdates(kA + " $(id)aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa refs/heads/main\n").ok());
  std::string many;
  for (int i = 0; i < 5; ++i) many += kA + " " + kB + " refs/heads/b" + std::to_string(i) + "\n";
  EXPECT_FALSE(ParseRefUpdates(many, 4).ok());
}

}  // namespace rv::gitrecv
