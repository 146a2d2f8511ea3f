#include "strider/bidder.h"

#include <gtest/gtest.h>

#include "common/proxy_job.h"

namespace rv::strider {
namespace {

BidderView View() {
  BidderView v;
  v.capacity = {1000, 2000, 4000};
  v.free = {500, 1000, 4000};
  v.labels = {{"zone", "a"}, {"role", "app"}};
  v.services = {"db"};
  return v;
}

msg::AnnouncedJob Job(const std::string& id, int64_t ram = 100) {
  msg::AnnouncedJob j;
  j.job_id = id;
  j.attempt = 0;
  j.service = id;
  j.resources = {ram, 10, 100};
  return j;
}

TEST(Bidder, ScoreIsMeanFreeFraction) {
  EXPECT_DOUBLE_EQ(Score({500, 1000, 0}, {1000, 2000, 0}), 0.5);
  EXPECT_DOUBLE_EQ(Score({1000, 2000, 0}, {1000, 2000, 0}), 1.0);
  EXPECT_DOUBLE_EQ(Score({0, 0, 0}, {1000, 2000, 0}), 0.0);
  EXPECT_DOUBLE_EQ(Score({1000, 0, 0}, {1000, 2000, 0}), 0.5);
  EXPECT_DOUBLE_EQ(Score({5, 5, 0}, {0, 0, 0}), 0.0);        // no capacity: no room
  EXPECT_DOUBLE_EQ(Score({5000, 2000, 0}, {1000, 2000, 0}), 1.0);  // clamped
}

TEST(Bidder, AcceptsWhatFits) {
  EXPECT_FALSE(DeclineReason(View(), Job("web")).has_value());
}

TEST(Bidder, DeclinesAnEnvProxyWhosePortAnotherEnvsProxyHoldsHere) {
  BidderView v = View();
  msg::AnnouncedJob j = Job("acme.prod.proxy-1");
  j.kind = "proxy";
  j.env = "acme/prod";
  v.ports[ProxyPortFor("acme/prod")] = "globex/prod";  // a hash collision
  auto why = DeclineReason(v, j);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("globex/prod's proxy holds it"), std::string::npos) << *why;
  v.ports[ProxyPortFor("acme/prod")] = "acme/prod";  // its own env: the ha rule decides, not the port
  EXPECT_FALSE(DeclineReason(v, j).has_value());
  j.kind = "deploy";  // only proxies claim the port
  v.ports[ProxyPortFor("acme/prod")] = "globex/prod";
  EXPECT_FALSE(DeclineReason(v, j).has_value());
}

TEST(Bidder, DeclinesTooMuchRam) {
  auto why = DeclineReason(View(), Job("web", 501));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("ram", 0), 0u) << *why;
}

TEST(Bidder, DeclinesTooMuchDisk) {
  auto j = Job("web");
  j.resources.disk_mb = 1001;
  auto why = DeclineReason(View(), j);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("disk", 0), 0u) << *why;
}

TEST(Bidder, DeclinesTooMuchCpu) {
  auto j = Job("web");
  j.resources.cpu_millis = 4001;
  auto why = DeclineReason(View(), j);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("cpu", 0), 0u) << *why;
}

TEST(Bidder, DeclinesNegativeRequest) {
  auto j = Job("web", -1);
  EXPECT_TRUE(DeclineReason(View(), j).has_value());
}

TEST(Bidder, DeclinesUnmetConstraint) {
  auto j = Job("build");
  j.rules.constraints = {{"role", "build"}};
  auto why = DeclineReason(View(), j);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("role=build"), std::string::npos) << *why;
  j.rules.constraints = {{"gpu", "yes"}};
  why = DeclineReason(View(), j);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no label gpu"), std::string::npos) << *why;
  j.rules.constraints = {{"zone", "a"}, {"role", "app"}};
  EXPECT_FALSE(DeclineReason(View(), j).has_value());
}

TEST(Bidder, DeclinesBuildJobsWithoutABuilder) {
  auto build = Job("acme.prod.web.build.b1.x");
  build.kind = "build";
  auto plain = Job("batch-1");
  BidderView v = View();
  EXPECT_FALSE(DeclineReason(v, build).has_value());
  v.builds = false;
  v.no_builds_why = "disabled by --no-builds";
  auto why = DeclineReason(v, build);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "this host runs no builds: disabled by --no-builds");
  EXPECT_FALSE(DeclineReason(v, plain).has_value());
}

TEST(Bidder, DeclinesImageJobsWithoutContainerRuntime) {
  auto img = Job("web-1");
  img.needs_container = true;
  auto plain = Job("batch-1");
  BidderView v = View();
  EXPECT_FALSE(DeclineReason(v, img).has_value());  // runtime open: fine
  v.containers = false;
  v.no_containers_why = "runc not found";
  auto why = DeclineReason(v, img);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no container runtime on this host: runc not found"), std::string::npos) << *why;
  EXPECT_FALSE(DeclineReason(v, plain).has_value());  // plain processes still run here
  BidDecision d = DecideBid(v, {img, plain});
  ASSERT_EQ(d.declines.size(), 1u);
  EXPECT_EQ(d.declines[0].job_id, "web-1");
  EXPECT_EQ(d.hold.ram_mb, plain.resources.ram_mb);  // nothing held for the declined one
}

TEST(Bidder, DeclinesAesGcmEnvironmentsWithoutAesni) {
  auto aes = Job("web-1");
  aes.needs_container = true;
  aes.env = "acme/prod";
  aes.env_aead = "aes256gcm";
  aes.needs_aesni = true;
  auto chacha = aes;
  chacha.job_id = "web-2";
  chacha.env_aead = "chacha20poly1305";
  chacha.needs_aesni = false;
  BidderView v = View();
  EXPECT_FALSE(DeclineReason(v, aes).has_value());  // AES-NI here: fine
  v.aesni = false;
  auto why = DeclineReason(v, aes);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no AES-NI on this host for environment acme/prod's AES-256-GCM"), std::string::npos) << *why;
  EXPECT_FALSE(DeclineReason(v, chacha).has_value()) << "ChaCha20-Poly1305 runs anywhere";
  BidDecision d = DecideBid(v, {aes, chacha});
  ASSERT_EQ(d.declines.size(), 1u);
  EXPECT_EQ(d.declines[0].job_id, "web-1");
}

TEST(Bidder, DeclinesHaReplicaOfServiceItHolds) {
  auto j = Job("db-2");
  j.service = "db";
  j.rules.ha = true;
  auto why = DeclineReason(View(), j);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("ha", 0), 0u);
  j.rules.ha = false;  // not HA: replicas may share a host
  EXPECT_FALSE(DeclineReason(View(), j).has_value());
}

TEST(Bidder, OneBidPerBatchWithHoldCappedAtFree) {
  std::vector<msg::AnnouncedJob> batch = {Job("a", 200), Job("b", 200), Job("c", 900), Job("d", 200)};
  BidDecision d = DecideBid(View(), batch);
  EXPECT_DOUBLE_EQ(d.score, 0.5);
  // "c" does not fit: left out of the hold, but not listed (the bid's free says it).
  EXPECT_TRUE(d.declines.empty());
  EXPECT_EQ(d.hold.ram_mb, 500);   // 600 wanted, 500 free
  EXPECT_EQ(d.hold.disk_mb, 30);
  EXPECT_EQ(d.hold.cpu_millis, 300);
}

}  // namespace
}  // namespace rv::strider
