#include "overlay/lease.h"

#include <gtest/gtest.h>

namespace rv::overlay {
namespace {

TEST(Lease, ExpiresOnceWhenNoRefreshCameWithinTheLease) {
  Lease l(3000);
  EXPECT_FALSE(l.held());
  EXPECT_FALSE(l.Keepalive(0)) << "nothing applied yet: the driver must apply";
  EXPECT_FALSE(l.Expire(100000)) << "nothing held, nothing to wipe";
  l.Applied(1000);
  EXPECT_TRUE(l.held());
  EXPECT_FALSE(l.Expire(3999));
  EXPECT_TRUE(l.Keepalive(3500));  // extends to 6500
  EXPECT_FALSE(l.Expire(6499));
  EXPECT_EQ(l.Remaining(6000), 500);
  EXPECT_TRUE(l.Expire(6500));
  EXPECT_FALSE(l.Expire(6501)) << "wiped once";
  EXPECT_FALSE(l.held());
  EXPECT_FALSE(l.Keepalive(7000)) << "a keepalive after the wipe does not revive keys";
  EXPECT_FALSE(l.Expire(20000));
  l.Applied(20000);  // the strider is back and applies again
  EXPECT_TRUE(l.Keepalive(21000));
  EXPECT_FALSE(l.Expire(23999));
  EXPECT_TRUE(l.Expire(24000));
}

TEST(Lease, ZeroTurnsItOff) {
  Lease l(0);
  l.Applied(0);
  EXPECT_FALSE(l.held());
  EXPECT_FALSE(l.Expire(1 << 30));
}

}  // namespace
}  // namespace rv::overlay
