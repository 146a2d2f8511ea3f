#include "overlay/attach_batch.h"

#include <gtest/gtest.h>

#include "overlay/addr.h"

namespace rv::overlay {
namespace {

Attachment In(uint32_t addr, const std::string& veth, const std::string& netns) {
  Attachment a;
  a.addr = addr;
  a.veth = veth;
  a.netns = netns;
  return a;
}

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(AttachBatch, CreatesEachPairWithItsContainerEndInsideTheNetns) {
  auto a = *ParseAddr("10.240.0.5");
  AttachBatch b = PlanAttachBatch(3, {In(a, "ov1", "/run/netns/c1")}, 1400, {}, {}, {});
  EXPECT_EQ(b.host_prepare, "link add ov1 mtu 1400 type veth peer name eth0 mtu 1400 netns /run/netns/c1\n");
  ASSERT_EQ(b.inside.count("/run/netns/c1"), 1u);
  const std::string& in = b.inside["/run/netns/c1"];
  EXPECT_NE(in.find("link set lo up\n"), std::string::npos);
  EXPECT_NE(in.find("addr add 10.240.0.5/32 dev eth0\n"), std::string::npos);
  EXPECT_NE(in.find("route add 169.254.1.1 dev eth0 scope link\n"), std::string::npos);
  EXPECT_NE(in.find("route replace default via 169.254.1.1 dev eth0\n"), std::string::npos);
  // Routed in main and in the env's table, and held to the env's table.
  EXPECT_NE(b.host_routes.find("route replace 10.240.0.5/32 dev ov1\n"), std::string::npos);
  EXPECT_NE(b.host_routes.find("route replace 10.240.0.5/32 dev ov1 table 10003\n"), std::string::npos);
  EXPECT_NE(b.host_routes.find("rule add iif ov1 lookup 10003 pref 100\n"), std::string::npos);
  EXPECT_EQ(b.host_rule_cleanup, "rule del iif ov1 lookup 10003 pref 100\n");
}

TEST(AttachBatch, DeletesOnlyLeftoverLinksThatExist) {
  auto a = *ParseAddr("10.240.0.5");
  AttachBatch clean = PlanAttachBatch(1, {In(a, "ov1", "c1")}, 1400, {}, {"lo", "eth0"}, {});
  EXPECT_EQ(clean.host_prepare.find("link del"), std::string::npos);
  AttachBatch debris = PlanAttachBatch(1, {In(a, "ov1", "c1")}, 1400, {}, {"ov1", PeerName(a)}, {});
  EXPECT_EQ(debris.host_prepare.find("link del ov1\nlink del " + PeerName(a) + "\nlink add ov1"), 0u);
}

TEST(AttachBatch, GatewayFilterPerVethInOneRestoreAndAJumpOnlyWhereMissing) {
  auto a = *ParseAddr("10.240.0.5"), c = *ParseAddr("10.240.0.6");
  AttachBatch b = PlanAttachBatch(1, {In(a, "ov1", "c1"), In(c, "ov2", "c2")}, 1400, {{"tcp", 53}}, {}, {"ov2"});
  EXPECT_EQ(b.iptables.rfind("*filter\n", 0), 0u);
  EXPECT_EQ(b.iptables.substr(b.iptables.size() - 7), "COMMIT\n");
  // Declared (so flushed when it exists) and filled with the same rules as SetGatewayFilter.
  for (const char* v : {"ov1", "ov2"}) {
    std::string chain = GatewayChainOf(v);
    EXPECT_EQ(Count(b.iptables, ":" + chain + " - [0:0]\n"), 1u);
    EXPECT_EQ(Count(b.iptables, "-A " + chain + " "), GatewayRules({{"tcp", 53}}).size());
    EXPECT_NE(b.iptables.find("-A " + chain + " ! -d 169.254.1.1/32 -j DROP\n"), std::string::npos);
    EXPECT_NE(b.iptables.find("-A " + chain + " -p tcp --dport 53 -j ACCEPT\n"), std::string::npos);
  }
  EXPECT_NE(b.iptables.find("-I INPUT -i ov1 -j rvgw-ov1\n"), std::string::npos);
  EXPECT_EQ(b.iptables.find("-I INPUT -i ov2"), std::string::npos);  // there already: not twice
}

TEST(AttachBatch, AnExistingVethIsNotCreatedNorEntered) {
  auto a = *ParseAddr("10.240.0.7");
  AttachBatch b = PlanAttachBatch(1, {In(a, "vx", "")}, 1400, {}, {"vx"}, {});
  EXPECT_EQ(b.host_prepare, "");
  EXPECT_TRUE(b.inside.empty());
  EXPECT_NE(b.host_routes.find("link set vx mtu 1400 up\n"), std::string::npos);
}

TEST(AttachBatch, NothingToAttachIsNoCommandAtAll) {
  AttachBatch b = PlanAttachBatch(1, {}, 1400, {}, {}, {});
  EXPECT_EQ(b.host_prepare + b.host_rule_cleanup + b.host_routes + b.iptables, "");
  EXPECT_TRUE(b.inside.empty());
}

}  // namespace
}  // namespace rv::overlay
