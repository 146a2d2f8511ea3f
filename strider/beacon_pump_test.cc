#include "strider/beacon_pump.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/transport/beacon.h"
#include "strider/beacon_receiver_for_test.h"

namespace rv::strider {
namespace {

using Receiver = testing::BeaconPort;

const std::string kKey(transport::kBeaconKeyBytes, 'k');

TEST(BeaconPump, SendsWhileTheOwnerLoopIsBusy) {
  Receiver r;
  BeaconSender s;
  ASSERT_TRUE(s.Start("127.0.0.1", r.port, 7, kKey, 20).ok());
  s.SetWatchdog(5000);
  s.MarkAlive(MonotonicMs());
  {
    BeaconPump pump(5);
    pump.Add(&s);
    // The "agent" does nothing for 300 ms: beacons must keep leaving.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    pump.Remove(&s);
  }
  int got = r.Drain();
  EXPECT_GE(got, 8);
  EXPECT_LE(got, 20);
  EXPECT_EQ(s.withheld(), 0);
}

TEST(BeaconPump, WatchdogSilencesAWedgedOwner) {
  Receiver r;
  BeaconSender s;
  ASSERT_TRUE(s.Start("127.0.0.1", r.port, 7, kKey, 10).ok());
  s.SetWatchdog(50);
  s.MarkAlive(MonotonicMs());
  BeaconPump pump(5);
  pump.Add(&s);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  pump.Remove(&s);
  // At most ~50 ms of beacons, then nothing.
  EXPECT_LE(r.Drain(), 8);
  EXPECT_GT(s.withheld(), 10);
}

TEST(BeaconPump, RemovedSenderIsNotTouched) {
  Receiver r;
  BeaconPump pump(1);
  for (int i = 0; i < 50; ++i) {
    auto s = std::make_unique<BeaconSender>();
    ASSERT_TRUE(s->Start("127.0.0.1", r.port, 1, kKey, 1).ok());
    s->MarkAlive(MonotonicMs());
    pump.Add(s.get());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    pump.Remove(s.get());
  }  // under ASan a use-after-free here fails the test
  r.Drain();
}

}  // namespace
}  // namespace rv::strider
