// NetnsGeneration: what names an overlay veth must be a stable 1..65535.
#include "strider/container/netns_generation.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace rv::container {
namespace {

TEST(NetnsGeneration, AFreshOneIsWithin1And65535ForEverySeedEvenAboveInt64Max) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{65534}, uint64_t{65535}, uint64_t{0x7fffffffffffffff},
                        uint64_t{0x8000000000000000}, uint64_t{0xfedcba9876543210}, UINT64_MAX}) {
    int64_t g = NextNetnsGeneration(0, seed);
    EXPECT_TRUE(IsNetnsGeneration(g)) << "seed " << seed << " gave " << g;
  }
}

TEST(NetnsGeneration, TheNextOneAlwaysDiffersFromThePreviousAndWraps) {
  EXPECT_EQ(NextNetnsGeneration(1, 12345), 2);
  EXPECT_EQ(NextNetnsGeneration(65534, 12345), 65535);
  EXPECT_EQ(NextNetnsGeneration(65535, 12345), 1);
  for (int64_t g = 1; g <= kMaxNetnsGeneration; ++g) ASSERT_NE(NextNetnsGeneration(g, 7), g);
}

TEST(NetnsGeneration, ARecordedValueOutside1To65535IsUnknownAndReplacedByAFreshOne) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{-40000}, int64_t{65536}, INT64_MIN}) {
    EXPECT_FALSE(IsNetnsGeneration(bad));
    EXPECT_TRUE(IsNetnsGeneration(NextNetnsGeneration(bad, 0x8000000000000001)));
  }
}

}  // namespace
}  // namespace rv::container
