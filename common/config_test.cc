#include "common/config.h"

#include <gtest/gtest.h>

namespace rv {
namespace {

TEST(PodConfig, EmptyObjectGivesDefaults) {
  auto cfg = ParsePodConfig("{}", "/tmp/pod");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->pod_dir, "/tmp/pod");
  EXPECT_EQ(cfg->sauron.api, "tcp://127.0.0.1:7400");
  EXPECT_EQ(cfg->elrond.strategy, "binpack");
  EXPECT_EQ(cfg->KeyPath("sauron"), "/tmp/pod/keys/sauron.key");
}

TEST(PodConfig, ReadsSectionsAndHosts) {
  auto cfg = ParsePodConfig(R"({"sauron": {"lost_after_ms": 900},
                                "elrond": {"strategy": "spread", "batch_max": 64},
                                "hosts": [{"id": "h1", "labels": {"zone": "a"}}]})", ".");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->sauron.lost_after_ms, 900);
  EXPECT_EQ(cfg->elrond.strategy, "spread");
  ASSERT_EQ(cfg->hosts.size(), 1u);
  EXPECT_EQ(cfg->hosts[0].labels.at("zone"), "a");
}

TEST(PodConfig, BeaconPeriodFollowsTheSilenceLimitUnlessGiven) {
  auto d = ParsePodConfig("{}", ".");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sauron.beacon_ms, 250);
  EXPECT_EQ(d->sauron.lost_after_ms, 750);
  auto shorter = ParsePodConfig(R"({"sauron": {"lost_after_ms": 400}})", ".");
  ASSERT_TRUE(shorter.ok()) << shorter.status().ToString();
  EXPECT_EQ(shorter->sauron.beacon_ms, 133);
  auto given = ParsePodConfig(R"({"sauron": {"lost_after_ms": 400, "beacon_ms": 100}})", ".");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->sauron.beacon_ms, 100);
  EXPECT_FALSE(ParsePodConfig(R"({"sauron": {"lost_after_ms": 400, "beacon_ms": 300}})", ".").ok());
}

TEST(PodConfig, RejectsTyposBadValuesAndGarbage) {
  EXPECT_FALSE(ParsePodConfig(R"({"sauron": {"lost_afer_ms": 900}})", ".").ok());
  EXPECT_FALSE(ParsePodConfig(R"({"elrond": {"strategy": "random"}})", ".").ok());
  EXPECT_FALSE(ParsePodConfig(R"({"sauron": {"lost_after_ms": -1}})", ".").ok());
  EXPECT_FALSE(ParsePodConfig(R"({"sauron": {"lost_after_ms": "soon"}})", ".").ok());
  EXPECT_FALSE(ParsePodConfig("{not json", ".").ok());
  EXPECT_FALSE(ParsePodConfig("[]", ".").ok());
  EXPECT_FALSE(ParsePodConfig(R"({"hosts": [{"labels": {}}]})", ".").ok());
}

}  // namespace
}  // namespace rv
