#include "elrond/batch_decision.h"

#include <gtest/gtest.h>

#include <deque>

namespace rv::elrond {
namespace {

class BatchDecisionTest : public ::testing::Test {
 protected:
  // Bidders must be added in id order (AuctionBids::hosts is sorted).
  void Bidder(const std::string& id, int64_t free_ram) {
    HostView v;
    v.id = id;
    v.up = true;
    v.capacity = {16000, 100000, 100000};
    v.free = {free_ram, 100000, 100000};
    views_.push_back(std::move(v));
    bids_.hosts.push_back(id);
    bids_.views.push_back(&views_.back());
  }
  BatchJob Job(const std::string& id, int64_t ram, const std::set<std::string>* avoid = nullptr,
               const std::vector<std::string>* offered = nullptr) {
    msg::JobSpec j;
    j.id = id;
    j.resources = {ram, 0, 0};
    specs_.push_back(std::move(j));
    return BatchJob{&specs_.back().id, &specs_.back(), avoid, offered};
  }
  void Decline(const std::string& job, size_t bidder, const std::string& why) {
    reasons_.push_back(why);
    bids_.declines[job].emplace_back(bidder, &reasons_.back());
  }

  std::deque<HostView> views_;
  std::deque<msg::JobSpec> specs_;
  std::deque<std::string> reasons_;
  AuctionBids bids_;
  ZoneCounts zones_;
};

TEST_F(BatchDecisionTest, BinpackPicksTheTightestFitAndNamesFallbacks) {
  Bidder("a", 4000);
  Bidder("b", 1000);
  Bidder("c", 8000);
  BatchDecider d(bids_, Strategy::kBinpack, false, 0, 0);
  JobDecision r = d.Decide(Job("j", 900), zones_);
  EXPECT_EQ(r.best, 1);
  EXPECT_FALSE(r.fallbacks.empty());
  EXPECT_FALSE(r.widened);
}

TEST_F(BatchDecisionTest, AHostThatDeclinedOrRefusedBeforeIsNotChosen) {
  Bidder("a", 1000);
  Bidder("b", 2000);
  Bidder("c", 3000);
  Decline("j", 0, "no AES-NI");
  std::set<std::string> avoid = {"b"};
  BatchDecider d(bids_, Strategy::kBinpack, false, 0, 0);
  EXPECT_EQ(d.Decide(Job("j", 500, &avoid), zones_).best, 2);
}

TEST_F(BatchDecisionTest, ADeclineMasksItsHostForThatJobOnly) {
  Bidder("a", 1000);
  Bidder("b", 2000);
  Decline("j1", 0, "busy");
  BatchDecider d(bids_, Strategy::kBinpack, false, 0, 0);
  EXPECT_EQ(d.Decide(Job("j1", 500), zones_).best, 1);
  EXPECT_EQ(d.Decide(Job("j2", 500), zones_).best, 0);
}

TEST_F(BatchDecisionTest, APartitionedJobGoesToAHostItWasOfferedToFirst) {
  Bidder("a", 1000);
  Bidder("b", 2000);
  std::vector<std::string> offered = {"b"};
  BatchDecider d(bids_, Strategy::kBinpack, true, 0, 0);
  JobDecision r = d.Decide(Job("j", 500, nullptr, &offered), zones_);
  EXPECT_EQ(r.best, 1);  // a is tighter but was not offered it
  EXPECT_FALSE(r.widened);
}

TEST_F(BatchDecisionTest, TheOfferIsWidenedWhenNoHostOfferedTheJobCanTakeIt) {
  Bidder("a", 4000);
  Bidder("b", 100);
  std::vector<std::string> offered = {"b"};
  BatchDecider d(bids_, Strategy::kBinpack, true, 0, 0);
  JobDecision r = d.Decide(Job("j", 500, nullptr, &offered), zones_);
  EXPECT_EQ(r.best, 0);
  EXPECT_TRUE(r.widened);
}

TEST_F(BatchDecisionTest, NothingFitsSaysWhyCountingSilentHostsAndTheSample) {
  Bidder("a", 1000);
  Bidder("b", 100);
  Decline("j", 0, "disk full");
  BatchDecider d(bids_, Strategy::kBinpack, false, 2, 64);
  JobDecision r = d.Decide(Job("j", 500), zones_);
  EXPECT_EQ(r.best, -1);
  EXPECT_EQ(r.unplaceable_reason, "no host: 2 did not bid, 1 declined (disk full), 1 lacks RAM (of 64 sampled hosts)");
}

}  // namespace
}  // namespace rv::elrond
