#include "sauron/liveness.h"

#include <gtest/gtest.h>

#include <map>

namespace rv::sauron {
namespace {

using transport::ConnEvent;

ConnEvent Accepted(int fd, const std::string& peer) { return ConnEvent{ConnEvent::kAccepted, fd, "127.0.0.1:7400", peer}; }
ConnEvent Closed(int fd) { return ConnEvent{ConnEvent::kDisconnected, fd, "", ""}; }

LivenessOptions Opts(int grace = 0) {
  LivenessOptions o;
  o.heartbeat_ms = 100;
  o.lost_after_ms = 600;
  o.disconnect_grace_ms = grace;
  return o;
}

TEST(Liveness, DisconnectOfBoundConnectionIsDueAtOnce) {
  Liveness l(Opts());
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  EXPECT_EQ(l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1), Liveness::Bind::kBound);
  EXPECT_EQ(l.BoundFd("h1"), 7);
  EXPECT_TRUE(l.Due(2).empty());
  l.OnConnEvent(Closed(7), 3);
  auto due = l.Due(3);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, "h1");
  EXPECT_FALSE(l.Tracked("h1"));
}

TEST(Liveness, HelloBeforeAcceptEventBindsLater) {
  Liveness l(Opts());
  EXPECT_EQ(l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1), Liveness::Bind::kPendingAccept);
  l.OnConnEvent(Accepted(9, "127.0.0.1:5000"), 2);
  EXPECT_EQ(l.BoundFd("h1"), 9);
}

TEST(Liveness, HelloNamingAnotherAddressIsNotBound) {
  Liveness l(Opts());
  l.OnConnEvent(Accepted(7, "10.0.0.2:5000"), 0);
  EXPECT_EQ(l.OnHello("h1", "10.0.0.2:5000", "10.0.0.1", 1), Liveness::Bind::kAddressMismatch);
  EXPECT_EQ(l.BoundFd("h1"), -1);
  l.OnConnEvent(Closed(7), 2);
  EXPECT_TRUE(l.Due(3).empty());  // someone else's connection closing is not h1's loss
}

TEST(Liveness, OtherConnectionsClosingAreIgnored) {
  Liveness l(Opts());
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnConnEvent(Accepted(8, "127.0.0.1:5001"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  l.OnConnEvent(Closed(8), 2);
  EXPECT_TRUE(l.Due(3).empty());
}

TEST(Liveness, GraceAndReconnectCancelsLoss) {
  Liveness l(Opts(/*grace=*/50));
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  l.OnConnEvent(Closed(7), 10);
  EXPECT_TRUE(l.Due(20).empty());
  EXPECT_LE(l.NextDeadline(), 60);
  // Reconnects on a new connection (same fd number, reused) and says hello.
  l.OnConnEvent(Accepted(7, "127.0.0.1:5002"), 30);
  EXPECT_EQ(l.OnHello("h1", "127.0.0.1:5002", "127.0.0.1", 31), Liveness::Bind::kBound);
  EXPECT_TRUE(l.Due(70).empty());
  l.OnConnEvent(Closed(7), 80);
  EXPECT_TRUE(l.Due(100).empty());
  EXPECT_EQ(l.Due(130).size(), 1u);
}

TEST(Liveness, ClosedAgentConnectionIsNewsAtOnceButLossWaitsForTheDefaultGrace) {
  LivenessOptions o;
  o.heartbeat_ms = 100;
  o.lost_after_ms = 600;
  EXPECT_EQ(o.disconnect_grace_ms, 2000);  // the agent grace (docs/SCEPTRE.md)
  Liveness l(o);
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  EXPECT_TRUE(l.TakeGone().empty());
  l.OnConnEvent(Closed(7), 10);
  auto gone = l.TakeGone();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].first, "h1");
  EXPECT_TRUE(l.TakeGone().empty());  // once per disconnect
  EXPECT_TRUE(l.Due(11).empty());
  EXPECT_TRUE(l.Due(2009).empty());
  ASSERT_EQ(l.Due(2010).size(), 1u);
}

TEST(Liveness, AnAgentThatComesBackWithinTheGraceKeepsItsHost) {
  LivenessOptions o;
  Liveness l(o);
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  l.OnConnEvent(Closed(7), 10);
  l.OnConnEvent(Accepted(8, "127.0.0.1:5001"), 900);
  EXPECT_EQ(l.OnHello("h1", "127.0.0.1:5001", "127.0.0.1", 901), Liveness::Bind::kBound);
  EXPECT_TRUE(l.Due(2500).empty());
  EXPECT_TRUE(l.Tracked("h1"));
}

TEST(Liveness, AHostThatSaidByeIsLostAtOnceDespiteTheGrace) {
  LivenessOptions o;
  Liveness l(o);
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  l.Bye("h1", "said bye: strider stopped", 5);
  l.OnConnEvent(Closed(7), 6);  // its connection closes right after: no second verdict
  auto due = l.Due(6);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].second, "said bye: strider stopped");
  EXPECT_TRUE(l.TakeGone().empty());
}

TEST(Liveness, ASilentHostIsLostAfterLostAfterEvenWithTheAgentGrace) {
  LivenessOptions o;
  o.heartbeat_ms = 100;
  o.lost_after_ms = 600;
  Liveness l(o);
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 0);
  l.OnBeacon("h1", 100);
  EXPECT_TRUE(l.Due(650).empty());
  ASSERT_EQ(l.Due(701).size(), 1u);  // the connection never closed: a dead host goes silent
}

TEST(Liveness, BackstopWithoutMessages) {
  Liveness l(Opts());
  l.Track("h1", 0);  // e.g. after a sauron restart: no connection known
  l.OnMessage("h1", 500);
  EXPECT_TRUE(l.Due(1000).empty());  // backstop = max(600, 3*100) = 600
  auto due = l.Due(1200);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_NE(due[0].second.find("no message"), std::string::npos);
}

TEST(Liveness, HelloOnAlreadyClosedConnectionIsDue) {
  Liveness l(Opts());
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnConnEvent(Closed(7), 1);
  EXPECT_EQ(l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 2), Liveness::Bind::kClosed);
  EXPECT_EQ(l.Due(2).size(), 1u);
}

TEST(Liveness, AHostCannotStealAnothersConnection) {
  Liveness l(Opts());
  l.OnConnEvent(Accepted(7, "127.0.0.1:5000"), 0);
  l.OnHello("h1", "127.0.0.1:5000", "127.0.0.1", 1);
  // h2 (on the same machine) names h1's connection: it takes the binding but
  // h1 is then only watched by the backstop; h2 is the one lost on close.
  l.OnHello("h2", "127.0.0.1:5000", "127.0.0.1", 2);
  l.OnConnEvent(Closed(7), 3);
  auto due = l.Due(3);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, "h2");
}

TEST(Liveness, BeaconingHostIsLostAfterLostAfterNotTheBackstop) {
  LivenessOptions o = Opts();
  o.heartbeat_ms = 5000;  // backstop would be 15 s
  Liveness l(o);
  l.Track("h1", 0);
  l.Track("h2", 0);
  for (int64_t t = 0; t <= 1000; t += 150) l.OnBeacon("h1", t);  // h1 beacons until t=1000, then stops
  l.OnBeacon("h2", 0);
  for (int64_t t = 150; t <= 3000; t += 150) l.OnBeacon("h2", t);
  EXPECT_TRUE(l.Due(1500).empty());
  auto due = l.Due(1700);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, "h1");
  EXPECT_TRUE(l.Tracked("h2"));
}

// The silence scan runs when the earliest deadline comes, not every few ms;
// a host whose deadline moves earlier (its first beacon shortens its limit
// from the backstop) must still be found on time.
TEST(Liveness, ScansWaitForTheEarliestDeadlineYetMissNoHost) {
  LivenessOptions o = Opts();
  o.heartbeat_ms = 5000;  // backstop 15 s, beacon limit 600 ms
  Liveness l(o);
  l.Track("a", 0);
  l.Track("b", 0);
  EXPECT_TRUE(l.Due(10).empty());
  EXPECT_EQ(l.NextDeadline(), 15001);  // nothing can be due before the backstop
  l.OnBeacon("b", 100);                // b now has the 600 ms limit
  EXPECT_EQ(l.NextDeadline(), 701);
  EXPECT_TRUE(l.Due(700).empty());
  auto due = l.Due(701);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, "b");
  for (int64_t t = 1000; t < 15000; t += 1000) l.OnMessage("a", t);
  EXPECT_TRUE(l.Due(15001).empty());  // a spoke meanwhile: its deadline moved on
  EXPECT_EQ(l.NextDeadline(), 14000 + 15001);
}

TEST(Liveness, LaterBeaconsAreReadFromTheBeaconClockAtScanTime) {
  Liveness l(Opts());
  std::map<std::string, int64_t> last_beacon;
  l.SetBeaconClock([&](const std::string& h) { return last_beacon[h]; });
  l.Track("h1", 0);
  l.OnBeacon("h1", 100);  // the session's first: the 600 ms limit applies
  last_beacon["h1"] = 650;
  EXPECT_TRUE(l.Due(701).empty());  // the clock says 650: alive
  EXPECT_EQ(l.NextDeadline(), 1251);
  last_beacon["h1"] = 1200;
  EXPECT_TRUE(l.Due(1251).empty());
  auto due = l.Due(1801);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, "h1");
}

TEST(Liveness, HostsSilentInOneScanAreReportedInNameOrder) {
  Liveness l(Opts());
  for (const char* h : {"h3", "h1", "h2"}) l.Track(h, 0);
  auto due = l.Due(10000);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].first, "h1");
  EXPECT_EQ(due[2].first, "h3");
}

TEST(Liveness, BeaconForUntrackedHostIsIgnored) {
  Liveness l(Opts());
  l.OnBeacon("ghost", 5);
  EXPECT_FALSE(l.Tracked("ghost"));
}

}  // namespace
}  // namespace rv::sauron
