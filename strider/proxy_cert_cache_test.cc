#include "strider/proxy_cert_cache.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

std::vector<ProxyCert> Set(const std::string& name) {
  return {ProxyCert{name, "acme/prod/web", "CERT " + name, "KEY " + name}};
}

TEST(ProxyCertCache, HoldsNothingAtFirstSoTheFirstRefreshAsksForEverything) {
  ProxyCertCache c;
  EXPECT_EQ(c.Known("acme/prod"), 0);
  EXPECT_FALSE(c.Reuse("acme/prod", 0, 1).has_value());
}

TEST(ProxyCertCache, GivesBackTheWholeSetOnlyForTheVersionItHolds) {
  ProxyCertCache c;
  c.Keep("acme/prod", 7, Set("a.test"), true, 100);
  EXPECT_EQ(c.Known("acme/prod"), 7);
  EXPECT_EQ(c.Known("acme/staging"), 0);
  auto held = c.Reuse("acme/prod", 7, 200);
  ASSERT_TRUE(held.has_value());
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].key_pem, "KEY a.test");
  EXPECT_FALSE(c.Reuse("acme/prod", 8, 200).has_value());
  EXPECT_FALSE(c.Reuse("acme/staging", 7, 200).has_value());
  // A new version replaces it.
  c.Keep("acme/prod", 8, Set("b.test"), true, 300);
  EXPECT_EQ(c.Known("acme/prod"), 8);
  EXPECT_EQ(c.Reuse("acme/prod", 8, 300)->at(0).name, "b.test");
}

TEST(ProxyCertCache, NeverHoldsASetWithAKeyThatDidNotOpen) {
  ProxyCertCache c;
  c.Keep("acme/prod", 7, Set("a.test"), true, 100);
  c.Keep("acme/prod", 9, Set("b.test"), /*complete=*/false, 200);
  EXPECT_EQ(c.Known("acme/prod"), 0) << "the older whole set is dropped too";
  EXPECT_EQ(c.size(), 0u);
  c.Keep("acme/prod", 10, Set("c.test"), true, 300);
  c.Forget("acme/prod");
  EXPECT_EQ(c.Known("acme/prod"), 0);
}

TEST(ProxyCertCache, DropsASetNotUsedForItsIdleTime) {
  ProxyCertCache c(1000);
  c.Keep("acme/prod", 7, Set("a.test"), true, 0);
  c.Keep("acme/staging", 3, Set("s.test"), true, 0);
  ASSERT_TRUE(c.Reuse("acme/prod", 7, 900).has_value());  // used: its clock restarts
  c.Expire(1500);
  EXPECT_EQ(c.Known("acme/prod"), 7);
  EXPECT_EQ(c.Known("acme/staging"), 0);
  c.Expire(2000);
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace rv::strider
