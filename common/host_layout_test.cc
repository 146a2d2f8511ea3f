#include "common/host_layout.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "common/server_keys.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"

namespace rv {
namespace {

TEST(HostLayout, EveryJobIdIsOneSafePathComponent) {
  EXPECT_EQ(host_layout::SafeName("web-1"), "web-1");
  EXPECT_EQ(host_layout::SafeName("a/../b"), "a_.._b");
  EXPECT_EQ(host_layout::SafeName(".."), "_..");
  EXPECT_EQ(host_layout::SafeName(""), "_");
}

TEST(HostLayout, LogsAndContainersLiveBelowTheDataDir) {
  std::string data = host_layout::DefaultDataDir("/pod", "h1");
  EXPECT_EQ(data, "/pod/hosts/h1");
  EXPECT_EQ(host_layout::ProcessLogPath(data, "job/1"), "/pod/hosts/h1/logs/job_1.log");
  std::string state = host_layout::ContainerStateDir(data);
  EXPECT_EQ(host_layout::ConsoleLogPath(host_layout::ContainerDir(state, "rv-abc")),
            "/pod/hosts/h1/container/containers/rv-abc/console.log");
}

TEST(ServerKeys, InlineKeyFirstThenPubFileThenTheKeyFile) {
  auto dir = std::filesystem::temp_directory_path() / ("rv-server-keys-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "keys");
  PodConfig cfg;
  cfg.pod_dir = dir.string();
  EXPECT_FALSE(SauronPublicKey(cfg).ok());  // nothing yet

  auto kp = transport::GenerateKeypair();
  ASSERT_TRUE(transport::SaveKeypair(cfg.KeyPath("sauron"), kp).ok());
  std::filesystem::remove(cfg.KeyPath("sauron") + ".pub");
  auto from_key = SauronPublicKey(cfg);
  ASSERT_TRUE(from_key.ok()) << from_key.status().message();
  EXPECT_EQ(*from_key, kp.public_key);

  auto other = transport::GenerateKeypair();
  { std::ofstream(cfg.KeyPath("sauron") + ".pub") << other.public_key << "\n"; }
  EXPECT_EQ(*SauronPublicKey(cfg), other.public_key);  // .pub before the key file

  auto inl = transport::GenerateKeypair();
  cfg.sauron.public_key = inl.public_key;
  EXPECT_EQ(*SauronPublicKey(cfg), inl.public_key);
  cfg.sauron.public_key = "not-a-key";
  EXPECT_EQ(SauronPublicKey(cfg).status().code(), Status::Code::kInvalid);
  EXPECT_FALSE(ElrondPublicKey(cfg).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rv
