#include "common/roles.h"

#include <gtest/gtest.h>

namespace rv {
namespace {

TEST(Roles, NamesRoundTrip) {
  for (Role r : kAllRoles) {
    auto back = ParseRole(RoleName(r));
    ASSERT_TRUE(back.has_value()) << RoleName(r);
    EXPECT_EQ(*back, r);
  }
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

TEST(Roles, EachPodKeyHasItsOwnRoleAndNoneIsAHost) {
  EXPECT_EQ(PodKeyRole("admin"), Role::kAdmin);
  EXPECT_EQ(PodKeyRole("elrond"), Role::kScheduler);
  EXPECT_EQ(PodKeyRole("gitrecv"), Role::kGitrecv);
  EXPECT_EQ(PodKeyRole("builder"), Role::kBuilder);
  EXPECT_EQ(PodKeyRole("edge"), Role::kEdge);
  EXPECT_FALSE(PodKeyRole("h1").has_value());
  EXPECT_FALSE(PodKeyRole("").has_value());
  for (const PodKey& k : PodKeys()) EXPECT_NE(k.role, Role::kHost) << k.name;
}

TEST(Roles, PodKeyNamesAndSauronAreReserved) {
  for (const PodKey& k : PodKeys()) EXPECT_TRUE(IsReservedKeyName(k.name));
  EXPECT_TRUE(IsReservedKeyName("sauron"));
  EXPECT_FALSE(IsReservedKeyName("host-1"));
}

TEST(Roles, ARoleSetHoldsOnlyItsRolesAndNeverNone) {
  RoleSet s{Role::kAdmin, Role::kGitrecv};
  EXPECT_TRUE(s.Has(Role::kAdmin));
  EXPECT_TRUE(s.Has(Role::kGitrecv));
  EXPECT_FALSE(s.Has(Role::kHost));
  EXPECT_FALSE(s.Has(Role::kNone));
  EXPECT_EQ(s.Names(), "admin or gitrecv");
  EXPECT_EQ(RoleSet{}.Names(), "nobody");
}

}  // namespace
}  // namespace rv
