#include "strider/failed_workload.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rv::strider {
namespace {

TEST(FailedWorkload, StartReportsFailedWithTheReasonAndKeepsTheStatusCode) {
  std::vector<std::pair<RunState, std::string>> seen;
  auto w = FailedWorkload(Status::Invalid("build job refused: bad ref"),
                          [&](RunState s, const std::string& d) { seen.emplace_back(s, d); });
  Status s = w->Start(msg::JobSpec{}, {});
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, RunState::kFailed);
  EXPECT_EQ(seen[0].second, "build job refused: bad ref");
  EXPECT_TRUE(w->done());  // never restarted
}

TEST(FailedWorkload, StopReportsStopped) {
  std::vector<RunState> seen;
  auto w = FailedWorkload(Status::Unavailable("this host runs no builds"),
                          [&](RunState s, const std::string&) { seen.push_back(s); });
  EXPECT_EQ(w->Start(msg::JobSpec{}, {}).code(), Status::Code::kUnavailable);
  w->Stop(std::chrono::milliseconds(0));
  EXPECT_EQ(w->state(), RunState::kStopped);
  EXPECT_EQ(seen.back(), RunState::kStopped);
}

}  // namespace
}  // namespace rv::strider
