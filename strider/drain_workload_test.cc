#include "strider/drain_workload.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

class FakeWorkload : public Workload {
 public:
  Status Start(const msg::JobSpec&, const std::map<std::string, std::string>&) override {
    state_ = RunState::kRunning;
    return Status::Ok();
  }
  void Stop(std::chrono::milliseconds g) override {
    ++stops;
    grace = g;
    state_ = RunState::kStopped;
  }
  void Poll(int64_t) override {}
  RunState state() const override { return state_; }
  bool done() const override { return state_ == RunState::kStopped; }
  RunState state_ = RunState::kNone;
  int stops = 0;
  std::chrono::milliseconds grace{0};
};

msg::JobSpec Web() {
  msg::JobSpec s;
  s.id = "web-1";
  s.env = "acme/prod";
  s.image = "acme/web:v1";
  s.port = 8080;
  return s;
}

TEST(DrainWorkload, ARunningWebReplicaStopsOnlyAfterTheDrain) {
  auto fake = std::make_unique<FakeWorkload>();
  FakeWorkload* f = fake.get();
  DrainingWorkload w(std::move(fake), 1000);
  ASSERT_TRUE(w.Start(Web(), {}).ok());
  w.Stop(std::chrono::milliseconds(5000));
  EXPECT_EQ(f->stops, 0);
  EXPECT_FALSE(w.done());
  w.Poll(10000);
  w.Poll(10999);
  EXPECT_EQ(f->stops, 0);
  EXPECT_TRUE(w.draining());
  w.Poll(11000);
  EXPECT_EQ(f->stops, 1);
  EXPECT_EQ(f->grace, std::chrono::milliseconds(5000));
  EXPECT_TRUE(w.done());
  w.Stop(std::chrono::milliseconds(5000));  // a second stop once stopped: forwarded, harmless
}

TEST(DrainWorkload, ANotRunningReplicaStopsAtOnceAndReleaseIsNeverDelayed) {
  auto fake = std::make_unique<FakeWorkload>();
  FakeWorkload* f = fake.get();
  DrainingWorkload w(std::move(fake), 1000);
  f->state_ = RunState::kStarting;
  w.Stop(std::chrono::milliseconds(100));
  EXPECT_EQ(f->stops, 1);

  auto fake2 = std::make_unique<FakeWorkload>();
  FakeWorkload* f2 = fake2.get();
  DrainingWorkload w2(std::move(fake2), 1000);
  ASSERT_TRUE(w2.Start(Web(), {}).ok());
  w2.Release();  // the base Release stops at once
  EXPECT_EQ(f2->stops, 1);
}

TEST(DrainWorkload, OnlyWebReplicasOfAnEnvironmentDrain) {
  EXPECT_TRUE(Drains(Web()));
  auto s = Web();
  s.port = 0;
  EXPECT_FALSE(Drains(s));
  s = Web();
  s.kind = "proxy";
  EXPECT_FALSE(Drains(s));
  s = Web();
  s.env = "";
  EXPECT_FALSE(Drains(s));
}

}  // namespace
}  // namespace rv::strider
