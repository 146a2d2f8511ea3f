#include "builder/build_reporter.h"

#include <gtest/gtest.h>

namespace rv::builder {
namespace {

TEST(OutputBatcher, HoldsLinesUntilTheIntervalThenSendsThemInOrder) {
  OutputBatcher b;
  EXPECT_FALSE(b.Take(1000, false));  // nothing queued
  ASSERT_TRUE(b.Take(1000, true) == std::nullopt);
  b.Add("one");
  auto first = b.Take(1000, false);  // first chunk: the interval since 0 passed
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "one\n");
  b.Add("two");
  b.Add("three");
  EXPECT_FALSE(b.Take(1050, false));  // within 100 ms of the last send
  auto next = b.Take(1100, false);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "two\nthree\n");
  EXPECT_TRUE(b.empty());
}

TEST(OutputBatcher, ALargeBacklogGoesAtOnceInBoundedChunks) {
  OutputBatcher b;
  (void)b.Take(0, true);
  std::string line(4095, 'x');
  for (int i = 0; i < 100; ++i) b.Add(line);  // 400 KiB
  auto c1 = b.Take(1, false);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->size(), OutputBatcher::kMaxChunk);
  auto c2 = b.Take(2, false);
  ASSERT_TRUE(c2);
  auto c3 = b.Take(3, true);
  ASSERT_TRUE(c3);
  EXPECT_EQ(c1->size() + c2->size() + c3->size(), 100u * 4096);
  EXPECT_TRUE(b.empty());
}

TEST(OutputBatcher, CloseForcesTheLastLineOut) {
  OutputBatcher b;
  (void)b.Take(0, true);
  b.Add("output");
  b.Add("builder: result {}");
  EXPECT_FALSE(b.Take(10, false));  // not due yet...
  auto c = b.Take(10, true);        // ...but closing sends it
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "output\nbuilder: result {}\n");
}

}  // namespace
}  // namespace rv::builder
