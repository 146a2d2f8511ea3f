#include "common/stop_signal.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace rv {
namespace {

// One test: the flag is process-wide and never goes back to false.
TEST(StopSignal, TermAndTheExtraSignalsSetTheFlagAndSigpipeIsIgnored) {
  stop_signal::Install({SIGHUP});
  EXPECT_FALSE(stop_signal::Requested());
  ASSERT_EQ(raise(SIGPIPE), 0);  // ignored: we are still here
  EXPECT_FALSE(stop_signal::Requested());
  ASSERT_EQ(raise(SIGHUP), 0);
  EXPECT_TRUE(stop_signal::Requested());
  EXPECT_TRUE(stop_signal::Flag().load());
  stop_signal::Request();  // idempotent
  EXPECT_TRUE(stop_signal::Requested());
}

}  // namespace
}  // namespace rv
