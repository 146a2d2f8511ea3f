#include "cli/remote_log.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace rv::cli {
namespace {

// A fake sauron and host: each read opens a token; the host answers a token
// after `answer_after_ms`, unless the want is in `lost`.
struct FakePod {
  int64_t now = 0;
  int64_t answer_after_ms = 5;
  int lost = 0;  // the first N wants never reach the host
  std::vector<msg::LogReadRequest> reads;
  std::map<std::string, int64_t> answer_at;  // token -> when the host answers
  std::string log = "hello\nworld\n";

  RemoteLog::Calls Calls() {
    RemoteLog::Calls c;
    c.read = [this](const msg::LogReadRequest& r) -> Result<msg::LogReadStarted> {
      reads.push_back(r);
      std::string token = "t" + std::to_string(reads.size());
      answer_at[token] = lost-- > 0 ? INT64_MAX : now + answer_after_ms;
      return msg::LogReadStarted{token, "h2"};
    };
    c.fetch = [this](const std::string& token) -> Result<msg::LogChunk> {
      msg::LogChunk ch;
      if (now < answer_at.at(token)) return ch;
      const msg::LogReadRequest& r = reads.back();
      ch.ready = true;
      int64_t from = r.cursor.ino == 0 ? std::max<int64_t>(0, static_cast<int64_t>(log.size()) - r.tail_bytes)
                                       : r.cursor.offset;
      ch.data = log.substr(from);
      ch.next = {42, static_cast<int64_t>(log.size())};
      return ch;
    };
    c.now_ms = [this] { return now; };
    c.sleep_ms = [this](int64_t ms) { now += ms; };
    return c;
  }
};

TEST(RemoteLogTest, TheFirstStepIsTheTailAndTheNextStartsWhereItEnded) {
  FakePod pod;
  RemoteLog log(pod.Calls(), "web-1", 6);
  auto first = log.Step();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->data, "world\n");
  pod.log += "again\n";
  auto second = log.Step();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data, "again\n");
  ASSERT_EQ(pod.reads.size(), 2u);
  EXPECT_EQ(pod.reads[0].cursor.ino, 0u);
  EXPECT_EQ(pod.reads[1].cursor.ino, 42u);
  EXPECT_EQ(pod.reads[1].cursor.offset, 12);
  EXPECT_EQ(pod.reads[1].job_id, "web-1");
}

TEST(RemoteLogTest, AWantTheHostNeverHeardIsAskedAgainFromTheSameCursor) {
  FakePod pod;
  pod.lost = 1;
  RemoteLog log(pod.Calls(), "web-1", 1 << 20);
  auto got = log.Step();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, pod.log);
  ASSERT_EQ(pod.reads.size(), 2u);
  EXPECT_GE(pod.now, RemoteLog::kAttemptMs) << "the first attempt waited its time out";
}

TEST(RemoteLogTest, AHostThatNeverAnswersIsUnavailableByNameAndTheCursorStays) {
  FakePod pod;
  pod.lost = 100;
  RemoteLog log(pod.Calls(), "web-1", 100);
  auto got = log.Step();
  EXPECT_EQ(got.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(got.status().message().find("host h2"), std::string::npos) << got.status().message();
  EXPECT_EQ(pod.reads.size(), static_cast<size_t>(RemoteLog::kAttempts));
  pod.lost = 0;
  ASSERT_TRUE(log.Step().ok());
  EXPECT_EQ(pod.reads.back().cursor.ino, 0u) << "nothing was received, so it still starts at the tail";
}

TEST(RemoteLogTest, TheHostsErrorIsNotFoundNamingTheJobAndHost) {
  FakePod pod;
  RemoteLog::Calls calls = pod.Calls();
  calls.fetch = [](const std::string&) -> Result<msg::LogChunk> {
    msg::LogChunk c;
    c.ready = true;
    c.error = "no log yet";
    return c;
  };
  RemoteLog log(calls, "web-1", 100);
  auto got = log.Step();
  EXPECT_EQ(got.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(got.status().message(), "web-1 on h2: no log yet");
}

TEST(RemoteLogTest, SauronsRefusalIsReturnedAsIs) {
  FakePod pod;
  RemoteLog::Calls calls = pod.Calls();
  calls.read = [](const msg::LogReadRequest&) -> Result<msg::LogReadStarted> {
    return Status::Unavailable("job web-1's host h2 is lost: its log cannot be read now");
  };
  RemoteLog log(calls, "web-1", 100);
  EXPECT_EQ(log.Step().status().message(), "job web-1's host h2 is lost: its log cannot be read now");
}

}  // namespace
}  // namespace rv::cli
