#include "cli/log_printer.h"

#include <gtest/gtest.h>

#include <sstream>

namespace rv::cli {
namespace {

TEST(LogPrinter, RawWritesTheBytesAsTheLogHoldsThem) {
  std::ostringstream out;
  LogPrinter p(false, out);
  p.Feed("GET /\x1b]0;owned\x07 200\r\n");
  p.Feed("caf\xe9 no newline");
  p.Finish();
  EXPECT_EQ(out.str(), "GET /\x1b]0;owned\x07 200\r\ncaf\xe9 no newline");
}

// What an app logs is what its clients sent: on a terminal an escape
// sequence would retitle the window, move the cursor or worse.
TEST(LogPrinter, SafeRemovesEscapeSequencesAndBadBytesEvenWhenSplitAcrossReads) {
  std::ostringstream out;
  LogPrinter p(true, out);
  p.Feed("GET /\x1b]0;own");
  p.Feed("ed\x07 200\n");
  p.Feed("caf\xe9 \xc3");
  p.Feed("\xa9\n");
  p.Feed("over\rwrite\n");
  p.Feed("partial");
  p.Finish();
  EXPECT_EQ(out.str(), "GET / 200\ncaf\xef\xbf\xbd \xc3\xa9\nover\nwrite\npartial\n");
}

TEST(LogPrinter, SafeLineIsOneLineWithoutControlBytes) {
  EXPECT_EQ(LogPrinter::SafeLine("a\x1b[2Jb\rc"), "ab c");
  EXPECT_EQ(LogPrinter::SafeLine("plain request line"), "plain request line");
}

}  // namespace
}  // namespace rv::cli
