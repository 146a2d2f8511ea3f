// The log-read requests through ApiServer::Handle (no network): the want goes
// to the job's host only, only that host can answer it, only the admin reads.
#include <gtest/gtest.h>

#include "common/console_job.h"
#include "common/event_kinds.h"
#include "common/msg/job_input.h"
#include "common/msg/logs.h"
#include "sauron/api_test_base.h"
#include "sauron/log_relay.h"

namespace rv::sauron {
namespace {

constexpr int kDenied = static_cast<int>(Status::Code::kDenied);
constexpr int kNotFound = static_cast<int>(Status::Code::kNotFound);
constexpr int kUnavailable = static_cast<int>(Status::Code::kUnavailable);
constexpr int kInvalid = static_cast<int>(Status::Code::kInvalid);

class ApiLogsTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    deps_.logs = &relay_;
    deps_.notify_host = [this](const msg::Change& c) { notices_.push_back(c); };
    StartApi();
    for (const char* h : {"h1", "h2"}) {
      EnrollHost(h);
      msg::HostHello hello;
      hello.host_id = h;
      hello.address = "10.9.0.1";
      hello.capacity = hello.free = {4096, 10000, 4000};
      ASSERT_TRUE(store_->HostUp(hello, 1000).ok());
    }
    msg::JobSpec s;
    s.id = "web-1";
    s.service = "web";
    s.resources = {64, 10, 10};
    ASSERT_TRUE(store_->SubmitJobs({s}, 1).ok());
    ASSERT_TRUE(store_->Award({{"web-1", 0, "h2"}}, 2).at(0).ok);
    ASSERT_TRUE(store_->Claim("h2", {{"web-1", 1}}, 3).at(0).ok);
  }
  msg::LogReadRequest ReadWeb1() {
    msg::LogReadRequest r;
    r.job_id = "web-1";
    r.tail_bytes = 100;
    return r;
  }

  LogRelay relay_;
  std::vector<msg::Change> notices_;
};

TEST_F(ApiLogsTest, AReadIsAWantForTheJobsHostOnlyAndItsChunkIsFetchedOnce) {
  msg::Reply r = Call("admin", ReadWeb1());
  ASSERT_EQ(r.code, 0) << r.error;
  auto started = Payload<msg::LogReadStarted>(r);
  EXPECT_EQ(started.host_id, "h2");
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].event.kind, event_kind::kLogWanted);
  EXPECT_EQ(notices_[0].event.host_id, "h2");
  msg::LogWant want;
  auto env = msg::DecodeEnvelope(notices_[0].event.detail);
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(msg::DecodeBody(*env, &want).ok());
  EXPECT_EQ(want.token, started.token);
  EXPECT_EQ(want.job_id, "web-1");
  EXPECT_EQ(want.tail_bytes, 100);
  EXPECT_TRUE(EventKinds().size() > 0);
  for (const auto& k : EventKinds()) EXPECT_NE(k, event_kind::kLogWanted) << "never in the event log";

  EXPECT_FALSE(Payload<msg::LogChunk>(Call("admin", msg::LogFetchRequest{started.token})).ready) << "not yet";
  msg::HostLogChunk chunk;
  chunk.host_id = "h2";
  chunk.token = started.token;
  chunk.chunk.data = "serving\n";
  chunk.chunk.next = {5, 8};
  ASSERT_EQ(Call("h2", chunk).code, 0);
  auto got = Payload<msg::LogChunk>(Call("admin", msg::LogFetchRequest{started.token}));
  EXPECT_TRUE(got.ready);
  EXPECT_EQ(got.data, "serving\n");
  EXPECT_EQ(got.next.offset, 8);
  EXPECT_EQ(Call("admin", msg::LogFetchRequest{started.token}).code, kNotFound) << "taken once";
}

TEST_F(ApiLogsTest, AnotherHostCannotAnswerAndOnlyTheAdminReads) {
  auto started = Payload<msg::LogReadStarted>(Call("admin", ReadWeb1()));
  msg::HostLogChunk forged;
  forged.host_id = "h1";
  forged.token = started.token;
  forged.chunk.data = "forged";
  EXPECT_EQ(Call("h1", forged).code, kDenied);
  forged.host_id = "h2";
  EXPECT_EQ(Call("h1", forged).code, kDenied) << "a host speaks only for itself";
  EXPECT_EQ(Call("h2", ReadWeb1()).code, kDenied);
  EXPECT_EQ(Call("h2", msg::LogFetchRequest{started.token}).code, kDenied);
  EXPECT_EQ(Call("admin", forged).code, kDenied);
  EXPECT_FALSE(Payload<msg::LogChunk>(Call("admin", msg::LogFetchRequest{started.token})).ready);
}

TEST_F(ApiLogsTest, AStoppedJobsLogIsStillReadFromItsHost) {
  ASSERT_TRUE(store_->Stop({"web-1"}, 10).at(0).ok);
  msg::Reply r = Call("admin", ReadWeb1());
  ASSERT_EQ(r.code, 0) << r.error;
  EXPECT_EQ(Payload<msg::LogReadStarted>(r).host_id, "h2");
}

TEST_F(ApiLogsTest, AnUnknownJobOrOneOnNoHostIsRefusedAtOnceWithTheReason) {
  msg::LogReadRequest r = ReadWeb1();
  r.job_id = "nosuch-1";
  EXPECT_EQ(Call("admin", r).code, kNotFound);
  ASSERT_TRUE(store_->MarkHostLost("h2", "test").ok());  // its jobs go back to pending
  msg::Reply lost = Call("admin", ReadWeb1());
  EXPECT_EQ(lost.code, kNotFound);
  EXPECT_NE(lost.error.find("on no host"), std::string::npos) << lost.error;
  EXPECT_TRUE(notices_.empty());
}

TEST_F(ApiLogsTest, ABadSizeIsInvalid) {
  msg::LogReadRequest r = ReadWeb1();
  r.max_bytes = msg::kMaxLogChunkBytes + 1;
  EXPECT_EQ(Call("admin", r).code, kInvalid);
  r.max_bytes = 0;
  EXPECT_EQ(Call("admin", r).code, kInvalid);
  r = ReadWeb1();
  r.cursor.offset = -1;
  EXPECT_EQ(Call("admin", r).code, kInvalid);
}

// rv run's input: a chunk for the one-off's host only, never recorded; the
// host's answer comes back through the same mailbox.
TEST_F(ApiLogsTest, AnInputChunkGoesToTheOneOffsHostOnlyAndItsAnswerIsFetchedOnce) {
  msg::JobSpec run;
  run.id = "run-1";
  run.kind = kConsoleJobKind;
  run.service = "web:run.v1";
  run.resources = {64, 10, 10};
  ASSERT_TRUE(store_->SubmitJobs({run}, 4).ok());
  msg::JobInputRequest in{"run-1", 1, "print(6*7)\n", false};
  EXPECT_EQ(Call("admin", in).code, kUnavailable) << "not placed yet: rv sends it again";
  ASSERT_TRUE(store_->Award({{"run-1", 0, "h1"}}, 5).at(0).ok);
  ASSERT_TRUE(store_->Claim("h1", {{"run-1", 1}}, 6).at(0).ok);
  EXPECT_EQ(Call("h1", in).code, kDenied) << "only the admin sends input";
  msg::Reply r = Call("admin", in);
  ASSERT_EQ(r.code, 0) << r.error;
  auto started = Payload<msg::LogReadStarted>(r);
  EXPECT_EQ(started.host_id, "h1");
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].event.kind, event_kind::kInputWanted);
  EXPECT_EQ(notices_[0].event.host_id, "h1");
  msg::InputWant want;
  auto env = msg::DecodeEnvelope(notices_[0].event.detail);
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(msg::DecodeBody(*env, &want).ok());
  EXPECT_EQ(want.token, started.token);
  EXPECT_EQ(want.job_id, "run-1");
  EXPECT_EQ(want.seq, 1);
  EXPECT_EQ(want.data, "print(6*7)\n");
  for (const auto& k : EventKinds()) EXPECT_NE(k, event_kind::kInputWanted) << "never in the event log";

  msg::HostLogChunk answer;
  answer.host_id = "h1";
  answer.token = started.token;
  answer.chunk.ready = true;
  answer.chunk.next.offset = 1;
  ASSERT_EQ(Call("h1", answer).code, 0);
  auto got = Payload<msg::LogChunk>(Call("admin", msg::LogFetchRequest{started.token}));
  EXPECT_TRUE(got.ready);
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.next.offset, 1);
  ASSERT_TRUE(store_->Stop({"run-1"}, 10).at(0).ok);
  EXPECT_EQ(Call("admin", in).code, kNotFound) << "it ended";
}

TEST_F(ApiLogsTest, InputIsOnlyForOneOffsInBoundedNumberedChunks) {
  EXPECT_EQ(Call("admin", msg::JobInputRequest{"web-1", 1, "x", false}).code, kInvalid) << "not a one-off";
  EXPECT_EQ(Call("admin", msg::JobInputRequest{"web-1", 0, "x", false}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::JobInputRequest{"web-1", 1, std::string(msg::kMaxInputChunkBytes + 1, 'x'), false}).code,
            kInvalid);
  EXPECT_EQ(Call("admin", msg::JobInputRequest{"nosuch-1", 1, "x", false}).code, kNotFound);
  EXPECT_TRUE(notices_.empty());
}

TEST_F(ApiLogsTest, WithoutARelayLogReadsAreUnavailable) {
  api_.reset();
  deps_.logs = nullptr;
  StartApi();
  EXPECT_EQ(Call("admin", ReadWeb1()).code, kUnavailable);
}

}  // namespace
}  // namespace rv::sauron
