#include "strider/reservations.h"

#include <gtest/gtest.h>

#include <limits>

namespace rv::strider {
namespace {

const msg::Resources kBase{1000, 1000, 1000};

Reservations::Entry Job(const std::string& id, int64_t ram, const std::string& service = "", bool ha = false) {
  Reservations::Entry e;
  e.job_id = id;
  e.attempt = 1;
  e.service = service;
  e.ha = ha;
  e.resources = msg::Resources{ram, 10, 10};
  return e;
}

TEST(Reservations, RefusesOverCommit) {
  Reservations r;
  ASSERT_TRUE(r.Admit(Job("a", 600), kBase).ok());
  Status s = r.Admit(Job("b", 500), kBase);
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_NE(s.message().find("insufficient"), std::string::npos);
  EXPECT_TRUE(r.Admit(Job("b", 400), kBase).ok());
  EXPECT_EQ(r.Free(kBase).ram_mb, 0);
  r.Release("a");
  EXPECT_EQ(r.Free(kBase).ram_mb, 600);
  EXPECT_TRUE(r.Admit(Job("c", 600), kBase).ok());
}

TEST(Reservations, ReadmitSameJobReplacesIt) {
  Reservations r;
  ASSERT_TRUE(r.Admit(Job("a", 800), kBase).ok());
  EXPECT_TRUE(r.Admit(Job("a", 900), kBase).ok());
  EXPECT_EQ(r.Reserved().ram_mb, 900);
}

TEST(Reservations, RefusesSecondHaReplica) {
  Reservations r;
  ASSERT_TRUE(r.Admit(Job("web-1", 10, "web", true), kBase).ok());
  Status s = r.Admit(Job("web-2", 10, "web", true), kBase);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ha"), std::string::npos);
  EXPECT_TRUE(r.Admit(Job("api-1", 10, "api", true), kBase).ok());
  EXPECT_TRUE(r.Admit(Job("web-3", 10, "web", false), kBase).ok());  // not HA: may share
}

TEST(Reservations, RefusesAPortAnotherEnvironmentHoldsAndFillsTheClaimForProxies) {
  msg::JobSpec a;
  a.id = "acme.prod.proxy-1";
  a.kind = "proxy";
  a.env = "acme/prod";
  a.port = 12345;
  a.resources = {10, 10, 10};
  Reservations::Entry ea = Reservations::For(a, 1);
  EXPECT_EQ(ea.port, 12345);
  EXPECT_EQ(ea.port_owner, "acme/prod");
  msg::JobSpec b = a;
  b.id = "globex.prod.proxy-2";
  b.env = "globex/prod";  // the same hashed port
  Reservations r;
  ASSERT_TRUE(r.Admit(ea, kBase).ok());
  Status s = r.Admit(Reservations::For(b, 1), kBase);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("port 12345 is held here by acme.prod.proxy-1"), std::string::npos) << s.message();
  EXPECT_EQ(r.Ports().at(12345), "acme/prod");
  b.kind = "deploy";  // an app's port is inside its own netns: no claim
  EXPECT_EQ(Reservations::For(b, 1).port, 0);
  EXPECT_TRUE(r.Admit(Reservations::For(b, 1), kBase).ok());
  r.Release("acme.prod.proxy-1");
  b.kind = "proxy";
  b.id = "globex.prod.proxy-1";
  EXPECT_TRUE(r.Admit(Reservations::For(b, 1), kBase).ok());
}

TEST(Reservations, RejectsNegativeRequest) {
  Reservations r;
  EXPECT_FALSE(r.Admit(Job("a", -5), kBase).ok());
}

TEST(Reservations, HoldsShrinkFreeForOtherAuctionsOnly) {
  Reservations r;
  r.Hold(7, msg::Resources{700, 0, 0}, 1000);
  EXPECT_EQ(r.Free(kBase).ram_mb, 300);
  EXPECT_EQ(r.Free(kBase, 7).ram_mb, 1000);
  // The award of auction 7 converts its own hold...
  EXPECT_TRUE(r.Admit(Job("a", 700), kBase, 7).ok());
  // ...but a concurrent auction cannot take what auction 7 holds.
  r.Hold(8, msg::Resources{200, 0, 0}, 1000);
  EXPECT_FALSE(r.Admit(Job("b", 200), kBase, 7).ok());
  r.ReleaseHold(7);
  EXPECT_TRUE(r.Admit(Job("b", 100), kBase, 8).ok());
  EXPECT_FALSE(r.Admit(Job("c", 300), kBase, 9).ok());  // 8's hold still counts
}

TEST(Reservations, HoldsExpire) {
  Reservations r;
  EXPECT_EQ(r.NextHoldExpiryMs(), std::numeric_limits<int64_t>::max());
  r.Hold(2, msg::Resources{100, 0, 0}, 200);
  r.Hold(1, msg::Resources{500, 0, 0}, 100);
  EXPECT_EQ(r.NextHoldExpiryMs(), 100);
  EXPECT_EQ(r.ExpireHolds(150), 1);
  EXPECT_EQ(r.Held().ram_mb, 100);
  EXPECT_EQ(r.NextHoldExpiryMs(), 200);
  EXPECT_EQ(r.ExpireHolds(250), 1);
  EXPECT_EQ(r.open_holds(), 0u);
}

}  // namespace
}  // namespace rv::strider
