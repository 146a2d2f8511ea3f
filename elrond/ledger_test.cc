#include "elrond/ledger.h"

#include <gtest/gtest.h>

namespace rv::elrond {
namespace {

const msg::Resources kCap{8000, 100000, 8000};

TEST(Ledger, EffectiveFreeSubtractsAwardsTheBidDoesNotShow) {
  Ledger l;
  l.SetHost("h", kCap, {});
  auto c = l.ApplyBid("h", 1, {8000, 100000, 8000}, kCap, 0);
  EXPECT_FALSE(c.lying);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 8000);
  l.Commit("h", "j1", {3000, 10, 10}, Ledger::kUnreflected);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 5000);
  // A bid for auction 2 that left the host before the award arrived still
  // says 8000: the award stays subtracted.
  l.ApplyBid("h", 2, {8000, 100000, 8000}, kCap, 0);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 5000);
  // Acked while auction 3 was next: bids from 3 on include it.
  l.SetReflectedFrom("h", "j1", 3);
  auto c3 = l.ApplyBid("h", 3, {5000, 99990, 7990}, kCap, 0);
  EXPECT_FALSE(c3.lying) << c3.why;
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 5000);
  l.Release("h", "j1", 0);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 5000);  // until the host says it freed it
  l.ApplyBid("h", 4, {8000, 100000, 8000}, kCap, 0);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 8000);
}

TEST(Ledger, TwoConcurrentAuctionsCannotOverCommit) {
  // Both auctions' bids were taken before either closed and show 6000 free.
  Ledger l;
  l.SetHost("h", kCap, {});
  l.ApplyBid("h", 1, {6000, 100000, 8000}, kCap, 0);
  l.ApplyBid("h", 2, {6000, 100000, 8000}, kCap, 0);
  // Auction 1 closes and awards 4000.
  ASSERT_GE(l.EffectiveFree("h").ram_mb, 4000);
  l.Commit("h", "a1", {4000, 0, 0}, Ledger::kUnreflected);
  // Auction 2 closes: only 2000 is left, a second 4000 job does not fit.
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 2000);
  EXPECT_LT(l.EffectiveFree("h").ram_mb, 4000);
}

TEST(Ledger, CapacityMinusCommittedBoundsAStaleBid) {
  Ledger l;
  l.SetHost("h", kCap, {});
  l.Commit("h", "old", {7000, 0, 0}, 0);  // placed before elrond started
  l.SetReportedFree("h", {8000, 100000, 8000});
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 1000);
}

TEST(Ledger, LyingBidIsClampedAndFlagged) {
  Ledger l;
  l.SetHost("h", kCap, {16000, 0, 0});
  l.Commit("h", "p", {6000, 0, 0}, 0);  // placed: every bid must leave it out
  // Clamped at once; called a lie when the host says it again.
  auto first = l.ApplyBid("h", 4, {8000, 100000, 8000}, kCap, 0);
  EXPECT_FALSE(first.lying);
  EXPECT_EQ(first.free.ram_mb, 2000);
  auto c = l.ApplyBid("h", 5, {8000, 100000, 8000}, kCap, 0);
  EXPECT_TRUE(c.lying);
  EXPECT_NE(c.why.find("exceeds"), std::string::npos) << c.why;
  EXPECT_EQ(c.free.ram_mb, 2000);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 2000);

  auto big = l.ApplyBid("h", 6, {2000, 100000, 8000}, {64000, 100000, 8000}, 0);
  EXPECT_TRUE(big.lying);  // above the enrolled ceiling of 16000
  EXPECT_EQ(l.Capacity("h").ram_mb, 16000);

  auto neg = l.ApplyBid("h", 7, {-5, 100, 100}, kCap, 0);
  EXPECT_TRUE(neg.lying);
  EXPECT_EQ(neg.free.ram_mb, 0);
}

TEST(Ledger, OneOverClaimIsARaceNotALie) {
  Ledger l;
  l.SetHost("h", kCap, {});
  l.Commit("h", "p", {6000, 0, 0}, 0);
  // The host freed a stopped job before elrond heard of the stop.
  auto c = l.ApplyBid("h", 2, {8000, 100000, 8000}, kCap, 0);
  EXPECT_FALSE(c.lying) << c.why;
  EXPECT_EQ(c.free.ram_mb, 2000);  // still clamped
  l.Release("h", "p", 0);
  auto d = l.ApplyBid("h", 3, {8000, 100000, 8000}, kCap, 0);
  EXPECT_FALSE(d.lying) << d.why;
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 8000);
}

TEST(Ledger, FreeAboveOwnCapacityIsALie) {
  Ledger l;
  l.SetHost("h", kCap, {});
  auto c = l.ApplyBid("h", 1, {9000, 100000, 8000}, kCap, 0);
  EXPECT_TRUE(c.lying);
  EXPECT_EQ(c.free.ram_mb, 8000);
}

TEST(Ledger, OlderBidsDoNotOverwriteNewerOnes) {
  Ledger l;
  l.SetHost("h", kCap, {});
  l.ApplyBid("h", 5, {3000, 100000, 8000}, kCap, 0);
  auto c = l.ApplyBid("h", 4, {8000, 100000, 8000}, kCap, 0);
  EXPECT_TRUE(c.stale);
  EXPECT_EQ(l.EffectiveFree("h").ram_mb, 3000);
}

}  // namespace
}  // namespace rv::elrond
