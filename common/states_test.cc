#include "common/states.h"

#include <gtest/gtest.h>

#include "common/event_kinds.h"

namespace rv {
namespace {

TEST(States, JobAndHostStatesAreTheirWireNames) {
  EXPECT_STREQ(job_state::kAwarded, "awarded");
  EXPECT_TRUE(job_state::IsValid("placed"));
  EXPECT_FALSE(job_state::IsValid("Placed"));
  EXPECT_FALSE(job_state::IsValid(""));
  EXPECT_TRUE(host_state::IsValid("lost"));
  EXPECT_FALSE(host_state::IsValid("down"));
}

TEST(States, RunStateNamesRoundTripAndNoneIsNeverParsed) {
  for (RunState s : {RunState::kStarting, RunState::kRunning, RunState::kExited, RunState::kFailed, RunState::kStopped,
                     RunState::kUnhealthy}) {
    EXPECT_EQ(ParseRunState(RunStateName(s)), s) << RunStateName(s);
  }
  EXPECT_EQ(RunStateName(RunState::kNone), std::string());
  EXPECT_FALSE(ParseRunState("").has_value());
  EXPECT_FALSE(ParseRunState("crashed").has_value());
}

TEST(EventKinds, JobEventsShareThePrefixTheirHostsAreAddressedBy) {
  for (const char* k : {event_kind::kJobSubmitted, event_kind::kJobAwarded, event_kind::kJobPlaced,
                        event_kind::kJobRevoked, event_kind::kJobPending, event_kind::kJobState,
                        event_kind::kJobStopped, event_kind::kJobReason}) {
    EXPECT_EQ(std::string(k).rfind(event_kind::kJobPrefix, 0), 0u) << k;
  }
}

}  // namespace
}  // namespace rv
