#include "builder/output_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rv::builder {
namespace {

struct Collect {
  std::vector<std::string> lines;
  OutputFilter f;
  explicit Collect(OutputFilter::Options o = {}) : f(o, [this](std::string_view l) { lines.emplace_back(l); }) {}
};

std::vector<std::string> Filter(std::string_view in, OutputFilter::Options o = {}) {
  Collect r(o);
  r.f.Feed(in);
  r.f.Finish();
  return r.lines;
}

const std::string kFffd = "\xEF\xBF\xBD";

TEST(OutputFilter, PassesPlainLinesAndTabsThrough) {
  EXPECT_EQ(Filter("-----> Python app detected\n\tok\n"),
            (std::vector<std::string>{"-----> Python app detected", "\tok"}));
}

TEST(OutputFilter, EmitsEachLineAsSoonAsItsNewlineArrives) {
  Collect r;
  r.f.Feed("one\ntw");
  EXPECT_EQ(r.lines, (std::vector<std::string>{"one"}));
  r.f.Feed("o\n");
  EXPECT_EQ(r.lines, (std::vector<std::string>{"one", "two"}));
  r.f.Feed("partial");
  r.f.Finish();
  EXPECT_EQ(r.lines.back(), "partial");
}

TEST(OutputFilter, KeepsValidMultibyteUtf8EvenWhenSplitAcrossChunks) {
  Collect r;
  std::string s = "caf\xC3\xA9 \xF0\x9F\x9A\x80\n";
  for (char c : s) r.f.Feed(std::string_view(&c, 1));
  EXPECT_EQ(r.lines, (std::vector<std::string>{"caf\xC3\xA9 \xF0\x9F\x9A\x80"}));
}

TEST(OutputFilter, ReplacesInvalidUtf8WithReplacementCharacter) {
  EXPECT_EQ(Filter("a\xFF" "b\n"), (std::vector<std::string>{"a" + kFffd + "b"}));
  EXPECT_EQ(Filter("\xC0\xAF\n"), (std::vector<std::string>{kFffd + kFffd}));        // overlong '/'
  EXPECT_EQ(Filter("\xED\xA0\x80x\n"), (std::vector<std::string>{kFffd + "x"}));     // surrogate
  EXPECT_EQ(Filter("\xE2\x82x\n"), (std::vector<std::string>{kFffd + "x"}));         // truncated sequence
  EXPECT_EQ(Filter("\xF4\x90\x80\x80\n"), (std::vector<std::string>{kFffd}));        // above U+10FFFF
  EXPECT_EQ(Filter("end\xE2\x82"), (std::vector<std::string>{"end" + kFffd}));       // cut at EOF
}

TEST(OutputFilter, RemovesEscapeSequencesWhole) {
  EXPECT_EQ(Filter("\x1B[1;31mred\x1B[0m\n"), (std::vector<std::string>{"red"}));
  EXPECT_EQ(Filter("\x1B]0;pwned title\x07ok\n"), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(Filter("\x1B]8;;http://x\x1B\\link\n"), (std::vector<std::string>{"link"}));
  EXPECT_EQ(Filter("a\x1B" "cb\n"), (std::vector<std::string>{"ab"}));  // RIS (terminal reset)
  EXPECT_EQ(Filter("\x1BP1$r\x1B\\x\n"), (std::vector<std::string>{"x"}));  // DCS
  EXPECT_EQ(Filter("\x1B(Bx\n"), (std::vector<std::string>{"x"}));
}

TEST(OutputFilter, CarriageReturnCannotOverwriteWhatWasPrinted) {
  EXPECT_EQ(Filter("rm -rf /\rls      \n"), (std::vector<std::string>{"rm -rf /", "ls      "}));
  EXPECT_EQ(Filter("a\r\nb\n"), (std::vector<std::string>{"a", "b"}));
}

TEST(OutputFilter, ReplacesOtherControlCharactersC1AndBidiOverrides) {
  EXPECT_EQ(Filter("a\bb\x7F\x01\n"), (std::vector<std::string>{"a" + kFffd + "b" + kFffd + kFffd}));
  EXPECT_EQ(Filter("\xC2\x9B" "31m\n"), (std::vector<std::string>{kFffd + "31m"}));  // 8-bit CSI
  EXPECT_EQ(Filter("x\xE2\x80\xAEy\n"), (std::vector<std::string>{"x" + kFffd + "y"}));  // RLO
}

TEST(OutputFilter, NewlineEndsAnUnterminatedEscapeSequence) {
  EXPECT_EQ(Filter("\x1B]0;never ends\nvisible\n"), (std::vector<std::string>{"", "visible"}));
}

TEST(OutputFilter, UnterminatedOscDoesNotHideTheRestForever) {
  std::string s = "\x1B]" + std::string(5000, 'a') + "\n";
  auto lines = Filter(s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].empty());
}

TEST(OutputFilter, CutsALongLineAtTheCapAndEmitsItWithoutWaitingForTheNewline) {
  OutputFilter::Options o;
  o.max_line_bytes = 100;
  Collect r(o);
  r.f.Feed(std::string(10 << 20, 'x'));  // 10 MB, no newline
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], std::string(100, 'x') + std::string(kLineCutMarker));
  r.f.Feed("\nnext\n");
  EXPECT_EQ(r.lines.back(), "next");
  EXPECT_EQ(r.lines.size(), 2u);
}

TEST(OutputFilter, NeverSplitsAMultibyteCharacterWhenCutting) {
  OutputFilter::Options o;
  o.max_line_bytes = 17;
  std::string s;
  for (int i = 0; i < 10; i++) s += "\xC3\xA9";
  auto lines = Filter(s + "\n", o);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], s.substr(0, 16) + std::string(kLineCutMarker));
}

TEST(OutputFilter, BoundsTheTotalVolumeWithOneTruncatedLine) {
  OutputFilter::Options o;
  o.max_total_bytes = 1000;
  Collect r(o);
  for (int i = 0; i < 1000; i++) r.f.Feed("0123456789\n");
  r.f.Finish();
  EXPECT_TRUE(r.f.truncated());
  EXPECT_EQ(r.lines.back(), std::string(kTruncatedLine));
  EXPECT_EQ(r.lines.size(), 1000u / 11 + 1);
  EXPECT_LE(r.f.bytes_out(), 1000u + kTruncatedLine.size() + 1);
  EXPECT_EQ(r.f.bytes_in(), 11000u);
}

TEST(OutputFilter, EmitsNothingUnsafeForArbitraryBytes) {
  std::string all;
  for (int rep = 0; rep < 3; rep++)
    for (int i = 0; i < 256; i++) all.push_back(static_cast<char>(i));
  Collect r;
  r.f.Feed(all);
  r.f.Finish();
  for (const auto& l : r.lines)
    for (unsigned char c : l) EXPECT_TRUE(c == '\t' || (c >= 0x20 && c != 0x7F)) << int(c);
}

}  // namespace
}  // namespace rv::builder
