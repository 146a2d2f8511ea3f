#include "cli/console_input.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace rv::cli {
namespace {

// A pipe standing for rv's stdin: the test writes, the pump reads.
struct Stdin {
  int r = -1, w = -1;
  Stdin() {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    r = p[0];
    w = p[1];
  }
  ~Stdin() {
    close(r);
    if (w >= 0) close(w);
  }
  void Type(const std::string& s) { ASSERT_EQ(write(w, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  void End() {
    close(w);
    w = -1;
  }
};

TEST(InputPump, SendsWhatComesInNumberedChunksThenTheEnd) {
  Stdin in;
  std::vector<msg::JobInputRequest> sent;
  InputPump pump(in.r, "run-1", [&](const msg::JobInputRequest& r) { sent.push_back(r); return Status::Ok(); },
                 [](const std::string&) {});
  in.Type("print(6*7)\n");
  std::atomic<bool> stop{false};
  std::thread t([&] { pump.Run(stop); });
  usleep(200000);
  in.Type("exit()\n");
  usleep(200000);
  in.End();
  t.join();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].job_id, "run-1");
  EXPECT_EQ(sent[0].seq, 1);
  EXPECT_EQ(sent[0].data, "print(6*7)\n");
  EXPECT_EQ(sent[1].seq, 2);
  EXPECT_EQ(sent[1].data, "exit()\n");
  EXPECT_FALSE(sent[1].eof);
  EXPECT_EQ(sent[2].seq, 3);
  EXPECT_TRUE(sent[2].eof) << "the end of stdin closes the command's";
  EXPECT_EQ(sent[2].data, "");
  EXPECT_EQ(pump.chunks_sent(), 3);
}

TEST(InputPump, AChunkNotYetTakenIsSentAgainUnchangedNothingLostOrDoubled) {
  Stdin in;
  std::vector<msg::JobInputRequest> sent;
  int refusals = 2;  // not started yet, then busy
  InputPump pump(in.r, "run-1",
                 [&](const msg::JobInputRequest& r) {
                   sent.push_back(r);
                   return refusals-- > 0 ? Status::Unavailable("not started yet") : Status::Ok();
                 },
                 [](const std::string&) {}, 10);
  in.Type("abc");
  in.End();
  std::atomic<bool> stop{false};
  pump.Run(stop);
  ASSERT_EQ(sent.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sent[i].seq, 1);
    EXPECT_EQ(sent[i].data, "abc");
  }
  EXPECT_EQ(sent[3].seq, 2);
  EXPECT_TRUE(sent[3].eof);
}

TEST(InputPump, AnyOtherRefusalEndsItAndIsSaidOnce) {
  Stdin in;
  std::vector<std::string> said;
  int calls = 0;
  InputPump pump(in.r, "run-1",
                 [&](const msg::JobInputRequest&) { ++calls; return Status::Denied("only the admin sends input"); },
                 [&](const std::string& s) { said.push_back(s); });
  in.Type("late\n");
  in.Type("later\n");
  std::atomic<bool> stop{false};
  pump.Run(stop);
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("only the admin sends input"), std::string::npos) << said[0];
}

TEST(InputPump, AJobThatHasEndedEndsItQuietly) {
  Stdin in;
  std::vector<std::string> said;
  InputPump pump(in.r, "run-1", [&](const msg::JobInputRequest&) { return Status::NotFound("job run-1 has ended"); },
                 [&](const std::string& s) { said.push_back(s); });
  in.Type("late\n");
  std::atomic<bool> stop{false};
  pump.Run(stop);
  EXPECT_TRUE(said.empty()) << said[0];
}

TEST(InputPump, StopsWhenTheCommandHasEndedEvenWithNoInput) {
  Stdin in;  // nothing typed, never ended: a terminal left alone
  int calls = 0;
  InputPump pump(in.r, "run-1", [&](const msg::JobInputRequest&) { ++calls; return Status::Ok(); },
                 [](const std::string&) {});
  pump.Start();
  usleep(150000);
  auto t0 = std::chrono::steady_clock::now();
  pump.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace rv::cli
