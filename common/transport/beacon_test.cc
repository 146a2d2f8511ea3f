#include "common/transport/beacon.h"

#include <gtest/gtest.h>

#include <cstring>

namespace rv::transport {
namespace {

TEST(Beacon, RoundTripAndTamperRejected) {
  std::string key = NewBeaconKey();
  uint8_t b[kBeaconBytes];
  EncodeBeacon(7, 42, key, b);
  uint32_t session = 0;
  ASSERT_TRUE(PeekBeaconSession(b, sizeof b, &session));
  EXPECT_EQ(session, 7u);
  uint64_t counter = 0;
  ASSERT_TRUE(VerifyBeacon(b, sizeof b, key, &counter));
  EXPECT_EQ(counter, 42u);
  for (size_t i = 0; i < kBeaconBytes; ++i) {
    uint8_t t[kBeaconBytes];
    std::memcpy(t, b, sizeof t);
    t[i] ^= 1;
    EXPECT_FALSE(VerifyBeacon(t, sizeof t, key, &counter)) << "flipped byte " << i;
  }
  EXPECT_FALSE(VerifyBeacon(b, sizeof b, NewBeaconKey(), &counter));
  EXPECT_FALSE(VerifyBeacon(b, sizeof b - 1, key, &counter));
  EXPECT_FALSE(PeekBeaconSession(b, 3, &session));
}

}  // namespace
}  // namespace rv::transport
