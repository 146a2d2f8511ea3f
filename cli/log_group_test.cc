#include "cli/log_group.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <vector>

namespace rv::cli {
namespace {

// A fake sauron and hosts: every job's log is a string; a read is answered at
// once from the cursor (the tail when it has none); a job in `down` cannot be
// read.
struct FakeLogs {
  int64_t now = 0;
  std::map<std::string, std::string> logs;
  std::map<std::string, msg::LogReadRequest> pending;  // token -> its request
  std::vector<std::string> down;
  std::vector<msg::LogReadRequest> reads;

  RemoteLog::Calls Calls() {
    RemoteLog::Calls c;
    c.read = [this](const msg::LogReadRequest& r) -> Result<msg::LogReadStarted> {
      for (const auto& d : down)
        if (d == r.job_id) return Status::NotFound("job " + r.job_id + " is on no host");
      reads.push_back(r);
      std::string token = "t" + std::to_string(reads.size());
      pending[token] = r;
      return msg::LogReadStarted{token, "h1"};
    };
    c.fetch = [this](const std::string& token) -> Result<msg::LogChunk> {
      const msg::LogReadRequest& r = pending.at(token);
      const std::string& log = logs[r.job_id];
      msg::LogChunk ch;
      ch.ready = true;
      int64_t size = static_cast<int64_t>(log.size());
      int64_t from = r.cursor.ino == 0 ? std::max<int64_t>(0, size - r.tail_bytes) : r.cursor.offset;
      ch.data = log.substr(from);
      ch.next = {7, size};
      return ch;
    };
    c.now_ms = [this] { return now; };
    c.sleep_ms = [this](int64_t ms) { now += ms; };
    return c;
  }
};

struct Output {
  std::map<std::string, std::string> got;  // job id -> what its sink received ("|" = an end)
  std::function<LogGroup::Sink(const std::string&)> Sinks() {
    return [this](const std::string& id) {
      return [this, id](const std::string& chunk) { got[id] += chunk.empty() ? "|" : chunk; };
    };
  }
};

TEST(LogGroupTest, TheFirstJobsAreReadFromTheirTailAndOneThatAppearsLaterFromItsStart) {
  FakeLogs pod;
  Output out;
  std::ostringstream notes;
  pod.logs["web-1"] = "old line\nrecent\n";
  LogGroup group(pod.Calls(), 7, out.Sinks(), notes);
  group.Update({"web-1"});
  ASSERT_TRUE(group.Step(true).ok());
  EXPECT_EQ(out.got["web-1"], "recent\n");
  pod.logs["web-2"] = std::string(2000, 'x') + "\n";  // a new replica of a deploy
  group.Update({"web-1", "web-2"});
  auto news = group.Step(false);
  ASSERT_TRUE(news.ok());
  EXPECT_TRUE(*news);
  EXPECT_EQ(out.got["web-2"].size(), 2001u) << "all of it, not its last 7 bytes";
  EXPECT_NE(notes.str().find("following web-2"), std::string::npos);
  EXPECT_EQ(notes.str().find("following web-1"), std::string::npos) << "the first jobs are not announced";
}

TEST(LogGroupTest, AJobNoLongerListedIsReadToItsEndThenEndedAndDropped) {
  FakeLogs pod;
  Output out;
  std::ostringstream notes;
  pod.logs["web-1"] = "a\n";
  pod.logs["web-2"] = "b\n";
  LogGroup group(pod.Calls(), 1024, out.Sinks(), notes);
  group.Update({"web-1", "web-2"});
  ASSERT_TRUE(group.Step(true).ok());
  pod.logs["web-1"] += "last words, no newline";  // written as it stopped
  group.Update({"web-2"});
  ASSERT_TRUE(group.Step(false).ok());
  EXPECT_EQ(out.got["web-1"], "a\nlast words, no newline|") << "its last lines, then its end";
  EXPECT_EQ(group.size(), 1u);
  group.Finish();
  EXPECT_EQ(out.got["web-2"], "b\n|");
}

TEST(LogGroupTest, AJobThatCannotBeReadIsSaidOnceAndTriedAgainUnlessStoppingAtErrors) {
  FakeLogs pod;
  Output out;
  std::ostringstream notes;
  pod.logs["web-1"] = "a\n";
  pod.down = {"web-1"};
  LogGroup group(pod.Calls(), 1024, out.Sinks(), notes);
  group.Update({"web-1"});
  EXPECT_FALSE(group.Step(true).ok());
  EXPECT_TRUE(notes.str().empty()) << "returned, not said";
  ASSERT_TRUE(group.Step(false).ok());
  ASSERT_TRUE(group.Step(false).ok());
  EXPECT_EQ(notes.str(), "rv: job web-1 is on no host (still trying)\n") << "once";
  pod.down.clear();
  auto news = group.Step(false);
  ASSERT_TRUE(news.ok());
  EXPECT_TRUE(*news);
  EXPECT_EQ(out.got["web-1"], "a\n");
}

}  // namespace
}  // namespace rv::cli
