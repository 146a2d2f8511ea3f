#include <gtest/gtest.h>

#include "common/labels.h"
#include "common/resources.h"

namespace rv {
namespace {

TEST(Labels, EmptyConstraintsMatchEveryHost) {
  EXPECT_TRUE(Matches({}, {}));
  EXPECT_TRUE(Matches({{"zone", "a"}}, {}));
}

TEST(Labels, EveryConstrainedKeyMustBePresentWithTheWantedValue) {
  Labels host{{"zone", "a"}, {"disk", "ssd"}};
  EXPECT_TRUE(Matches(host, {{"zone", "a"}}));
  EXPECT_TRUE(Matches(host, {{"zone", "a"}, {"disk", "ssd"}}));
  EXPECT_FALSE(Matches(host, {{"zone", "b"}}));
  EXPECT_FALSE(Matches(host, {{"zone", "a"}, {"gpu", "yes"}}));
}

TEST(Labels, AMismatchSaysWhatTheHostHas) {
  auto m = FirstMismatch({{"zone", "a"}}, {{"zone", "b"}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Constraint(), "zone=b");
  EXPECT_EQ(m->Describe(), "constraint zone=b: host has zone=a");
  auto none = FirstMismatch({}, {{"gpu", "yes"}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->Describe(), "constraint gpu=yes: host has no label gpu");
}

TEST(Resources, ArithmeticIsComponentWise) {
  msg::Resources a{100, 200, 300}, b{50, 250, 100};
  msg::Resources sum = Plus(a, b);
  EXPECT_EQ(sum.ram_mb, 150);
  EXPECT_EQ(sum.disk_mb, 450);
  EXPECT_EQ(sum.cpu_millis, 400);
  EXPECT_EQ(Minus(a, b).disk_mb, -50);
  EXPECT_EQ(MinusFloored(a, b).disk_mb, 0);
  EXPECT_EQ(MinusFloored(a, b).ram_mb, 50);
  EXPECT_EQ(Min(a, b).disk_mb, 200);
  EXPECT_EQ(Min(a, b).cpu_millis, 100);
}

TEST(Resources, FitsOnlyWhenEveryQuantityFits) {
  EXPECT_TRUE(Fits({1, 1, 1}, {1, 1, 1}));
  EXPECT_FALSE(Fits({1, 2, 1}, {1, 1, 1}));
  EXPECT_FALSE(Fits({1, 1, 2}, {1, 1, 1}));
  EXPECT_TRUE(AnyNegative({0, -1, 0}));
  EXPECT_FALSE(AnyNegative({0, 0, 0}));
}

TEST(Resources, PrintsOneQuantityOneWay) {
  EXPECT_EQ(Describe({512, 1024, 250}), "512MB RAM, 1024MB disk, 250m CPU");
  EXPECT_EQ(DescribeShort({512, 1024, 250}), "512M/1024M/250m");
}

}  // namespace
}  // namespace rv
