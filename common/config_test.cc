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
