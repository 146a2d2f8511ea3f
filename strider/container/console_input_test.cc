#include "strider/container/console_input.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

namespace rv::container {
namespace {

// A pipe as Launch makes it: the app reads `r`, the registry owns the
// non-blocking write end.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    r = p[0];
    w = p[1];
    fcntl(w, F_SETFL, O_NONBLOCK);
    fcntl(r, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    if (r >= 0) close(r);
  }
  std::string Read() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(r, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  bool AtEof() {
    char c;
    return read(r, &c, 1) == 0;
  }
};

TEST(ConsoleInputs, WritesChunksInOrderAndAResentOneOnlyOnce) {
  ConsoleInputs in;
  Pipe p;
  in.Register("job-1", p.w);
  EXPECT_TRUE(in.Write("job-1", 1, "print(6*7)\n", false).ok());
  EXPECT_TRUE(in.Write("job-1", 1, "print(6*7)\n", false).ok()) << "its answer was lost: the same chunk again";
  EXPECT_TRUE(in.Write("job-1", 2, "exit()\n", false).ok());
  EXPECT_EQ(p.Read(), "print(6*7)\nexit()\n");
  auto gap = in.Write("job-1", 4, "x", false);
  EXPECT_EQ(gap.code(), Status::Code::kInvalid) << "chunk 3 never came";
  EXPECT_FALSE(p.AtEof()) << "still open";
}

TEST(ConsoleInputs, EofClosesTheCommandsInputAfterTheChunksData) {
  ConsoleInputs in;
  Pipe p;
  in.Register("job-1", p.w);
  EXPECT_TRUE(in.Write("job-1", 1, "last line\n", true).ok());
  EXPECT_EQ(p.Read(), "last line\n");
  EXPECT_TRUE(p.AtEof());
  EXPECT_TRUE(in.Write("job-1", 1, "last line\n", true).ok()) << "resent: already written";
  EXPECT_EQ(in.Write("job-1", 2, "more", false).code(), Status::Code::kInvalid);
}

TEST(ConsoleInputs, AChunkThePipeHasNoRoomForIsNotWrittenAtAll) {
  ConsoleInputs in;
  Pipe p;
  const int size = fcntl(p.w, F_GETPIPE_SZ);
  in.Register("job-1", p.w);
  ASSERT_TRUE(in.Write("job-1", 1, std::string(static_cast<size_t>(size) - 10, 'a'), false).ok());
  auto full = in.Write("job-1", 2, std::string(100, 'b'), false);
  EXPECT_EQ(full.code(), Status::Code::kUnavailable) << full.message();
  EXPECT_EQ(p.Read(), std::string(static_cast<size_t>(size) - 10, 'a')) << "no part of chunk 2";
  EXPECT_TRUE(in.Write("job-1", 2, std::string(100, 'b'), false).ok()) << "once the app read";
  EXPECT_EQ(p.Read(), std::string(100, 'b'));
}

TEST(ConsoleInputs, AJobWithoutInputHereOrWhoseCommandEndedIsRefused) {
  signal(SIGPIPE, SIG_IGN);  // as the strider does (stop_signal::Install)
  ConsoleInputs in;
  EXPECT_EQ(in.Write("nobody", 1, "x", false).code(), Status::Code::kNotFound);
  Pipe p;
  in.Register("job-1", p.w);
  close(p.r);  // the command exited
  p.r = -1;
  EXPECT_EQ(in.Write("job-1", 1, "x", false).code(), Status::Code::kNotFound);
  in.Unregister("job-1");
  EXPECT_EQ(in.Write("job-1", 2, "x", false).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace rv::container
