#include "overlay/replay.h"

#include <gtest/gtest.h>

#include <set>

using rv::overlay::ReplayWindow;

TEST(Replay, AcceptsOnceInOrder) {
  ReplayWindow w;
  for (uint64_t c = 1000; c < 1100; c++) {
    EXPECT_TRUE(w.Check(c));
    EXPECT_TRUE(w.Accept(c));
    EXPECT_FALSE(w.Check(c));
    EXPECT_FALSE(w.Accept(c));
  }
}

TEST(Replay, ReorderingWithinWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.Accept(100000));
  EXPECT_TRUE(w.Accept(99990));
  EXPECT_TRUE(w.Accept(99999));
  EXPECT_FALSE(w.Accept(99990));
  EXPECT_TRUE(w.Accept(100000 - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.Accept(100000 - ReplayWindow::kWindowSize - 1));  // too old
  EXPECT_TRUE(w.Accept(100001));
}

TEST(Replay, BigJumpClearsRing) {
  ReplayWindow w;
  for (uint64_t c = 1; c < 300; c++) EXPECT_TRUE(w.Accept(c));
  uint64_t far = 1'000'000;
  EXPECT_TRUE(w.Accept(far));
  // Counters inside the new window that were never seen must be fresh, even if
  // their ring bits were set by the old counters.
  for (uint64_t c = far - 200; c < far; c++) EXPECT_TRUE(w.Accept(c)) << c;
  EXPECT_FALSE(w.Accept(299));
}

TEST(Replay, CheckDoesNotMutate) {
  ReplayWindow w;
  EXPECT_TRUE(w.Check(7));
  EXPECT_TRUE(w.Check(7));
  EXPECT_TRUE(w.Accept(7));
  EXPECT_FALSE(w.Check(UINT64_MAX));
}

TEST(Replay, RandomizedAgainstSet) {
  ReplayWindow w;
  std::set<uint64_t> seen;
  uint64_t hi = 0;
  uint32_t x = 1;
  for (int i = 0; i < 200000; i++) {
    x = x * 1103515245 + 12345;
    uint64_t c = 100000 + i / 2 + (x >> 16) % 3000;
    bool expect = !seen.count(c) && (hi == 0 || c > hi || hi - c <= ReplayWindow::kWindowSize);
    // Entries older than the window are rejected regardless; newer follow the set.
    bool got = w.Accept(c);
    if (hi == 0 || c + ReplayWindow::kWindowSize >= hi) {
      EXPECT_EQ(got, expect) << c;
    }
    if (got) {
      seen.insert(c);
      hi = std::max(hi, c);
    }
  }
}
