#include "sauron/beacon_receiver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>

#include "common/transport/beacon.h"

namespace rv::sauron {
namespace {

// Real UDP on loopback: a sender with the issued session proves its host
// alive; replays, forgeries, revoked sessions and garbage are counted.
TEST(BeaconReceiver, AcceptsValidRejectsReplayForgeryAndRevoked) {
  BeaconReceiver rx;
  ASSERT_TRUE(rx.Bind("127.0.0.1", 0).ok());
  auto s1 = rx.Issue("h1");
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(rx.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint8_t b[transport::kBeaconBytes];
  auto send_beacon = [&](uint64_t counter) {
    transport::EncodeBeacon(s1.id, counter, s1.key, b);
    sendto(fd, b, sizeof b, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  };
  std::set<std::string> alive;
  auto drain = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rx.Drain([&](const std::string& h) { alive.insert(h); });
  };
  send_beacon(1);
  drain();
  EXPECT_EQ(alive.count("h1"), 1u);
  EXPECT_EQ(rx.accepted(), 1);

  // A replay of an old beacon, a forged one, garbage: all rejected.
  send_beacon(1);  // counter 1 again: a replay
  transport::EncodeBeacon(s1.id, 99, transport::NewBeaconKey(), b);  // wrong key
  sendto(fd, b, sizeof b, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  sendto(fd, "garbage", 7, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  uint8_t big[100] = {0};
  sendto(fd, big, sizeof big, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  alive.clear();
  drain();
  EXPECT_TRUE(alive.empty());
  EXPECT_EQ(rx.rejected(), 4);

  // Later beacons of the session only move its time (Liveness reads it).
  int64_t first_ms = rx.LastBeaconMs("h1");
  EXPECT_GT(first_ms, 0);
  send_beacon(5);
  drain();
  EXPECT_TRUE(alive.empty());
  EXPECT_EQ(rx.accepted(), 2);
  EXPECT_GT(rx.LastBeaconMs("h1"), first_ms);
  EXPECT_EQ(rx.LastBeaconMs("nobody"), 0);

  // After Revoke (host lost), its old session proves nothing.
  rx.Revoke("h1");
  send_beacon(2);
  drain();
  EXPECT_TRUE(alive.empty());
  EXPECT_EQ(rx.rejected(), 5);
  EXPECT_EQ(rx.LastBeaconMs("h1"), 0);
  close(fd);
}

}  // namespace
}  // namespace rv::sauron
