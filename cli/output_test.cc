#include "cli/output.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace rv::cli {
namespace {

TEST(CliOutput, ParsePairsSplitsAtTheFirstEqualsSign) {
  auto p = ParsePairs({"A=1", "URL=postgres://x?a=b", "EMPTY="}, "config var");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at("A"), "1");
  EXPECT_EQ(p->at("URL"), "postgres://x?a=b");
  EXPECT_EQ(p->at("EMPTY"), "");
}

TEST(CliOutput, ParsePairsRefusesAnItemWithoutAKeySayingWhatItIs) {
  auto p = ParsePairs({"=1"}, "label");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("label '=1' is not key=value"), std::string::npos);
  EXPECT_FALSE(ParsePairs({"novalue"}, "label").ok());
}

TEST(CliOutput, AnErrorReachesTheTerminalAsPrintableTextOnly) {
  EXPECT_EQ(Printable("value of K is not UTF-8\n\tsee docs"), "value of K is not UTF-8\n\tsee docs");
  EXPECT_EQ(Printable("got 'K\xe9' \x1b]0;owned\x07 \x7f"), "got 'K?' ?]0;owned? ?");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf??");  // ASCII only: a C1 control is two bytes of UTF-8 too
}

TEST(CliOutput, OutputIsGoneOnlyWhenTheOtherEndOfItsPipeOrSocketIsClosed) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FALSE(OutputGone(p[1])) << "a pipe still read";
  close(p[0]);
  EXPECT_TRUE(OutputGone(p[1]));
  close(p[1]);
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  EXPECT_FALSE(OutputGone(s[0]));
  close(s[1]);
  EXPECT_TRUE(OutputGone(s[0])) << "as sshd's end when the client went away";
  close(s[0]);
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(OutputGone(fileno(f))) << "a file";
  fclose(f);
}

TEST(CliOutput, NoControlsKeepsUtf8AndReplacesC0C1AndDel) {
  EXPECT_EQ(NoControls("exited: caf\xc3\xa9 \x1b[2J\x7f\xc2\x9b" "1m\n"), "exited: caf\xc3\xa9 ?[2J??1m?");
}

TEST(CliOutput, EmptyCellsAndNoTimeReadAsADash) {
  EXPECT_EQ(Or(""), "-");
  EXPECT_EQ(Or("x"), "x");
  EXPECT_EQ(FormatLabels({}), "-");
  EXPECT_EQ(FormatLabels({{"role", "build"}, {"zone", "a"}}), "role=build,zone=a");
  EXPECT_EQ(DateTime(0), "-");
  EXPECT_EQ(Ago(0), "never");
}

TEST(CliOutput, TimesAreUtc) {
  EXPECT_EQ(DateTime(86400000 + 3723000), "1970-01-02 01:02:03");
  EXPECT_EQ(ClockTime(3723045), "01:02:03.045");
}

}  // namespace
}  // namespace rv::cli
