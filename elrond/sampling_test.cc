#include "elrond/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

namespace rv::elrond {
namespace {

class SamplingTest : public ::testing::Test {
 protected:
  const HostView* Host(const std::string& id, int64_t free_ram, Labels labels = {}) {
    HostView v;
    v.id = id;
    v.up = true;
    v.free = {free_ram, 100000, 100000};
    v.labels = std::move(labels);
    views_.push_back(std::move(v));
    return &views_.back();
  }
  const msg::JobSpec* Job(const std::string& id, int64_t ram, const std::string& service = "",
                          bool ha = false, Labels constraints = {}) {
    msg::JobSpec j;
    j.id = id;
    j.service = service;
    j.resources = {ram, 0, 0};
    j.rules.ha = ha;
    j.rules.constraints = std::move(constraints);
    specs_.push_back(std::move(j));
    return &specs_.back();
  }

  std::deque<HostView> views_;
  std::deque<msg::JobSpec> specs_;
  std::mt19937 rng_{42};
};

TEST_F(SamplingTest, BinpackSamplesTheTightestHostsThatFitFirst) {
  std::vector<SampleHost> idle = {{Host("roomy", 8000)}, {Host("tight", 1200)}, {Host("full", 100)},
                                  {Host("mid", 4000)}};
  SampleOptions o{1, 0, Strategy::kBinpack};
  auto s = ChooseSample({Job("a", 1000)}, idle, o, rng_);
  // 1.5x the demand (1500 MB) is needed: tight (1200) then mid (4000).
  EXPECT_EQ(s, (std::vector<std::string>{"tight", "mid"}));
}

TEST_F(SamplingTest, SpreadSamplesTheRoomiestFirstAndUnreachableOrSlowHostsLast) {
  std::vector<SampleHost> idle = {{Host("roomy", 8000), false, false},
                                  {Host("mid", 4000), true, true},
                                  {Host("small", 2000), true, false}};
  SampleOptions o{3, 0, Strategy::kSpread};
  EXPECT_EQ(ChooseSample({Job("a", 1000)}, idle, o, rng_), (std::vector<std::string>{"small", "mid", "roomy"}));
}

TEST_F(SamplingTest, TheSampleHasAsManyHostsAsTheLargestHaGroup) {
  std::vector<SampleHost> idle;
  for (int i = 0; i < 6; ++i) idle.push_back({Host("h" + std::to_string(i), 100000)});
  SampleOptions o{1, 0, Strategy::kBinpack};
  auto s = ChooseSample({Job("w1", 10, "web", true), Job("w2", 10, "web", true), Job("w3", 10, "web", true)}, idle,
                        o, rng_);
  EXPECT_EQ(s.size(), 3u);
}

TEST_F(SamplingTest, HostsThatCannotMatchOnlyComeAsRandomExtras) {
  std::vector<SampleHost> idle = {{Host("eu", 4000, {{"zone", "eu"}})}, {Host("us1", 4000, {{"zone", "us"}})},
                                  {Host("us2", 4000, {{"zone", "us"}})}};
  SampleOptions o{5, 0, Strategy::kBinpack};
  EXPECT_EQ(ChooseSample({Job("a", 100, "", false, {{"zone", "eu"}})}, idle, o, rng_),
            (std::vector<std::string>{"eu"}));
  o.extra = 1;
  auto s = ChooseSample({Job("a", 100, "", false, {{"zone", "eu"}})}, idle, o, rng_);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "eu");
  EXPECT_TRUE(s[1] == "us1" || s[1] == "us2");
}

TEST_F(SamplingTest, EachJobIsOfferedToItsPrimaryAndStandIns) {
  std::vector<const HostView*> hosts = {Host("a", 1000), Host("b", 1000), Host("c", 1000), Host("d", 1000)};
  auto parts = PartitionBatch({Job("j1", 800), Job("j2", 800)}, hosts, 2, Strategy::kBinpack);
  // Binpack, biggest first (tie: by id): j1 -> a (+ b), j2 -> b (a is full by the views) (+ c).
  EXPECT_EQ(parts[0], (std::vector<size_t>{0}));
  EXPECT_EQ(parts[1], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(parts[2], (std::vector<size_t>{1}));
  // d was offered nothing: it still bids on the smallest job, to refresh its view.
  EXPECT_EQ(parts[3].size(), 1u);
}

TEST_F(SamplingTest, ReplicasOfAnHaServiceGetDifferentPrimaries) {
  std::vector<const HostView*> hosts = {Host("a", 100000), Host("b", 100000)};
  auto parts = PartitionBatch({Job("w1", 10, "web", true), Job("w2", 10, "web", true)}, hosts, 1, Strategy::kBinpack);
  EXPECT_EQ(parts[0].size(), 1u);
  EXPECT_EQ(parts[1].size(), 1u);
  EXPECT_NE(parts[0][0], parts[1][0]);
}

TEST_F(SamplingTest, AJobNoSampledHostMatchesIsOfferedToAllSoEveryBidSaysWhy) {
  std::vector<const HostView*> hosts = {Host("a", 1000, {{"zone", "us"}}), Host("b", 1000, {{"zone", "us"}})};
  auto parts = PartitionBatch({Job("j", 10, "", false, {{"zone", "eu"}})}, hosts, 1, Strategy::kBinpack);
  EXPECT_EQ(parts[0], (std::vector<size_t>{0}));
  EXPECT_EQ(parts[1], (std::vector<size_t>{0}));
}

}  // namespace
}  // namespace rv::elrond
