#include "overlay/ipam.h"

#include <gtest/gtest.h>

#include <set>

using namespace rv::overlay;

TEST(Ipam, SubnetsPerEnvironment) {
  auto ipam = Ipam::Create("10.250.0.0/16", 24, 1000);
  ASSERT_TRUE(ipam.ok());
  auto a = ipam->AllocateSubnet(1, 0);
  auto b = ipam->AllocateSubnet(2, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(FormatPrefix(*a), "10.250.0.0/24");
  EXPECT_EQ(FormatPrefix(*b), "10.250.1.0/24");
  EXPECT_EQ(*ipam->AllocateSubnet(1, 5), *a);  // idempotent
  EXPECT_FALSE(Ipam::Create("10.250.0.0/16", 8, 0).ok());
  EXPECT_FALSE(Ipam::Create("10.250.0.1/16", 24, 0).ok());
}

TEST(Ipam, AddressesSkipNetworkAndBroadcastAndQuarantine) {
  auto ipam = Ipam::Create("10.250.0.0/16", 29, 1000);  // 6 usable addresses
  ASSERT_TRUE(ipam->AllocateSubnet(1, 0).ok());
  std::set<uint32_t> got;
  for (int i = 0; i < 6; i++) {
    auto a = ipam->AllocateAddress(1, "c" + std::to_string(i), 0);
    ASSERT_TRUE(a.ok());
    got.insert(*a);
  }
  EXPECT_EQ(got.size(), 6u);
  EXPECT_FALSE(got.count(*ParseAddr("10.250.0.0")));
  EXPECT_FALSE(got.count(*ParseAddr("10.250.0.7")));
  EXPECT_FALSE(ipam->AllocateAddress(1, "c6", 0).ok());          // full
  EXPECT_EQ(*ipam->AllocateAddress(1, "c2", 0), *ParseAddr("10.250.0.3"));  // idempotent
  ASSERT_TRUE(ipam->ReleaseAddress(1, "c2", 100).ok());
  EXPECT_EQ(ipam->OwnerOf(1, *ParseAddr("10.250.0.3")), "");
  EXPECT_FALSE(ipam->AllocateAddress(1, "new", 500).ok());        // still quarantined
  auto reused = ipam->AllocateAddress(1, "new", 1100);
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(*reused, *ParseAddr("10.250.0.3"));
  EXPECT_EQ(ipam->OwnerOf(1, *reused), "new");
}

TEST(Ipam, PrefersNeverUsedOverQuarantined) {
  auto ipam = Ipam::Create("10.250.0.0/16", 24, 0);
  ASSERT_TRUE(ipam->AllocateSubnet(1, 0).ok());
  auto a = *ipam->AllocateAddress(1, "a", 0);
  ASSERT_TRUE(ipam->ReleaseAddress(1, "a", 0).ok());
  EXPECT_NE(*ipam->AllocateAddress(1, "b", 10), a);
}

TEST(Ipam, ReleaseSubnetAndRestore) {
  auto ipam = Ipam::Create("10.250.0.0/23", 24, 1000);  // two subnets only
  ASSERT_TRUE(ipam->AllocateSubnet(1, 0).ok());
  ASSERT_TRUE(ipam->AllocateSubnet(2, 0).ok());
  EXPECT_FALSE(ipam->AllocateSubnet(3, 0).ok());
  auto addr = *ipam->AllocateAddress(1, "x", 0);
  EXPECT_FALSE(ipam->ReleaseSubnet(1, 0).ok());  // still has containers
  ASSERT_TRUE(ipam->ReleaseAddress(1, "x", 0).ok());
  ASSERT_TRUE(ipam->ReleaseSubnet(1, 10).ok());
  EXPECT_FALSE(ipam->AllocateSubnet(3, 500).ok());  // quarantined
  // Persist and restore: the same decisions follow.
  auto recs = ipam->Records();
  auto copy = Ipam::Create("10.250.0.0/23", 24, 1000);
  ASSERT_TRUE(copy->Restore(recs).ok());
  EXPECT_FALSE(copy->AllocateSubnet(3, 500).ok());
  auto s3 = copy->AllocateSubnet(3, 2000);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(FormatPrefix(*s3), "10.250.0.0/24");
  EXPECT_EQ(FormatPrefix(*copy->SubnetOf(2)), "10.250.1.0/24");
  (void)addr;
  std::vector<Ipam::Record> bad = {{"addr", 9, "c", 1, -1}};
  EXPECT_FALSE(copy->Restore(bad).ok());
}
