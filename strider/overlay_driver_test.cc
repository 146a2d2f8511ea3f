#include "strider/overlay_driver.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "overlay/control.h"
#include "overlay/keyring.h"
#include "strider/container/container_runtime.h"

namespace rv::strider {
namespace {

TEST(OverlayDriver, ControlDocumentFromViewParsesAndAttachesOnlyLocalContainers) {
  overlay::HostKeyPair me = overlay::NewHostKeyPair();
  overlay::EnvKey k = overlay::NewEnvKey(3, 1, overlay::AeadKind::kChaCha20Poly1305);
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  v.hosts = {{"h1", 1, "10.88.0.1:7800"}, {"h2", 2, "10.88.0.2:7800"}};
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "chacha20poly1305";
  e.send_epoch = 1;
  e.keys.push_back({1, *overlay::SealEnvKey(k, me.public_key), "chacha20poly1305"});
  e.routes = {{"10.240.2.1", "h1", "x1", 1}, {"10.240.2.2", "h2", "x2", 1}, {"10.240.2.3", "h1", "x3", 1}};
  v.envs.push_back(e);
  std::map<std::string, LocalAttachment> locals;
  std::string id1 = container::ContainerIdFor("x1");
  locals[id1] = {id1, "X", "/var/run/netns/" + id1, 7};
  std::string other = container::ContainerIdFor("y9");
  locals[other] = {other, "Y", "/var/run/netns/" + other, 8};
  std::set<std::string> attached;
  std::string doc = BuildControlDocument(v, "10.88.0.1", 1500, locals, &attached);
  EXPECT_EQ(attached, (std::set<std::string>{id1}));
  auto c = overlay::ParseControl(doc, &me);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << doc;
  EXPECT_EQ(c->host_id, 1u);
  ASSERT_EQ(c->envs.size(), 1u);
  EXPECT_EQ(c->envs[0].keys.at(0).key, k.key) << "the sealed key opens with this host's key";
  ASSERT_EQ(c->envs[0].attachments.size(), 1u);
  EXPECT_EQ(c->envs[0].attachments[0].netns, "/var/run/netns/" + id1);
  // x3 is placed here but has no netns yet: no attachment; x2 is routed to h2.
  ASSERT_EQ(c->envs[0].routes.size(), 1u);
  EXPECT_EQ(c->envs[0].routes[0].host_id, 2u);
  EXPECT_TRUE(c->gateway_ports.empty()) << "default: nothing but ping on the gateway";
  // A foreign host cannot open the document's keys.
  overlay::HostKeyPair stranger = overlay::NewHostKeyPair();
  EXPECT_FALSE(overlay::ParseControl(doc, &stranger).ok());
}

// The veth name is the container's address and netns generation: two striders
// that read the same adopt record name it alike, so overlayd keeps its
// plumbing across a live restore (docs/SCEPTRE.md).
TEST(OverlayDriver, AnAttachmentsVethIsNamedAfterItsAddressAndNetnsGenerationOnly) {
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  v.hosts = {{"h1", 1, "10.88.0.1:7800"}};
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "chacha20poly1305";
  e.send_epoch = 1;
  e.routes = {{"10.240.2.1", "h1", "x1", 1}};
  v.envs.push_back(e);
  std::string id1 = container::ContainerIdFor("x1");
  auto veth_for = [&](int64_t generation) {
    std::map<std::string, LocalAttachment> locals;
    locals[id1] = {id1, "X", "/var/run/netns/" + id1, generation};
    auto j = nlohmann::json::parse(BuildControlDocument(v, "10.88.0.1", 1500, locals, nullptr));
    return j["envs"][0]["attachments"][0]["veth"].get<std::string>();
  };
  EXPECT_EQ(veth_for(0xfffe), "ov0af00201fffe");
  EXPECT_EQ(veth_for(1), "ov0af002010001");
  EXPECT_EQ(veth_for(1), veth_for(1)) << "the same record, the same name";
  EXPECT_NE(veth_for(2), veth_for(1)) << "a re-made netns is plumbed afresh";
}

// A rotation that switches AEAD: each epoch carries its own, and sauron's
// gateway ports reach overlayd.
TEST(OverlayDriver, ControlDocumentCarriesPerEpochAeadAndGatewayPorts) {
  overlay::HostKeyPair me = overlay::NewHostKeyPair();
  overlay::EnvKey k1 = overlay::NewEnvKey(3, 1, overlay::AeadKind::kAes256Gcm);
  overlay::EnvKey k2 = overlay::NewEnvKey(3, 2, overlay::AeadKind::kChaCha20Poly1305);
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  v.gateway_ports = {"tcp/53", "udp/53"};
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "aes256gcm";
  e.send_epoch = 1;
  e.keys.push_back({2, *overlay::SealEnvKey(k2, me.public_key), "chacha20poly1305"});
  e.keys.push_back({1, *overlay::SealEnvKey(k1, me.public_key), "aes256gcm"});
  v.envs.push_back(e);
  std::string doc = BuildControlDocument(v, "10.88.0.1", 1500, {}, nullptr);
  auto c = overlay::ParseControl(doc, &me);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << doc;
  ASSERT_EQ(c->envs[0].keys.size(), 2u);
  EXPECT_EQ(c->envs[0].keys[0].aead, overlay::AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(c->envs[0].keys[1].aead, overlay::AeadKind::kAes256Gcm);
  ASSERT_EQ(c->gateway_ports.size(), 2u);
  EXPECT_EQ(overlay::FormatGatewayPort(c->gateway_ports[1]), "udp/53");
}

}  // namespace
}  // namespace rv::strider
