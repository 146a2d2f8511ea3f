#include "common/utf8.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace rv {
namespace {

TEST(IsUtf8, AcceptsAsciiAndEveryLengthOfSequence) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("web: python3 app.py"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"));
  EXPECT_TRUE(IsUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last
  EXPECT_TRUE(IsUtf8(std::string("a\0b", 3)));  // NUL is UTF-8; callers refuse it themselves
}

TEST(IsUtf8, RefusesLatin1OverlongSurrogatesPastTheLastAndCutShort) {
  EXPECT_FALSE(IsUtf8("caf\xe9"));                 // Latin-1
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));                // overlong '/'
  EXPECT_FALSE(IsUtf8("\xe0\x80\xaf"));            // overlong, 3 bytes
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));            // U+D800
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));        // U+110000
  EXPECT_FALSE(IsUtf8("\xf8\x88\x80\x80\x80"));    // a 5-byte form
  EXPECT_FALSE(IsUtf8("\xe2\x82"));                // cut short
  EXPECT_FALSE(IsUtf8("\x80"));                    // a lone continuation byte
  EXPECT_FALSE(IsUtf8("\xc3(x"));                  // a lead byte without its continuation
}

// The reason it exists: what it accepts, a JSON writer holds.
TEST(IsUtf8, WhatItAcceptsNlohmannJsonDumpsAndWhatItRefusesItThrowsOn) {
  for (std::string s : {"plain", "caf\xc3\xa9", "\xf0\x9f\x9a\x80"}) {
    ASSERT_TRUE(IsUtf8(s));
    EXPECT_NO_THROW(nlohmann::json(s).dump());
  }
  for (std::string s : {"caf\xe9", "\xed\xa0\x80", "\xe2\x82"}) {
    ASSERT_FALSE(IsUtf8(s));
    EXPECT_THROW(nlohmann::json(s).dump(), nlohmann::json::type_error);
  }
}

TEST(HasControlByte, FindsC0AndDelButNotUtf8OrSpace) {
  EXPECT_FALSE(HasControlByte("zone=eu west caf\xc3\xa9"));
  for (std::string s : {std::string("a\tb"), std::string("a\nb"), std::string("a\x1b[2J"), std::string("a\x7f"),
                        std::string("a\0b", 3)}) {
    EXPECT_TRUE(HasControlByte(s)) << s;
  }
}

TEST(PrintableAscii, KeepsPrintableAsciiMarksEveryOtherByteAndCutsAtMax) {
  EXPECT_EQ(PrintableAscii("web-1 ok", 64), "web-1 ok");
  EXPECT_EQ(PrintableAscii(std::string("a\x1b[2J\n\0caf\xc3\xa9\x7f", 13), 64), "a?[2J??caf???");
  EXPECT_EQ(PrintableAscii("abcdef", 3), "abc");
}

}  // namespace
}  // namespace rv
