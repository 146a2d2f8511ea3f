#include "strider/announce_cache.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

std::shared_ptr<const msg::Announce> Make(int64_t id) {
  auto a = std::make_shared<msg::Announce>();
  a->auction_id = id;
  return a;
}

TEST(AnnounceCache, FindsOnlyExactlyTheSameBytes) {
  AnnounceCache c;
  c.Put("abc", Make(1));
  ASSERT_NE(c.Find("abc"), nullptr);
  EXPECT_EQ(c.Find("abc")->auction_id, 1);
  EXPECT_EQ(c.Find("abd"), nullptr);
  EXPECT_EQ(c.Find("ab"), nullptr);
  EXPECT_EQ(c.Find(""), nullptr);
  EXPECT_EQ(c.hits(), 2u);
}

TEST(AnnounceCache, ForgetsTheOldestWhenFull) {
  AnnounceCache c(2);
  c.Put("one", Make(1));
  c.Put("two", Make(2));
  c.Put("three", Make(3));
  EXPECT_EQ(c.Find("one"), nullptr);
  EXPECT_EQ(c.Find("two")->auction_id, 2);
  EXPECT_EQ(c.Find("three")->auction_id, 3);
  c.Put("two", Make(22));  // same bytes again: both kept, the first found wins
  c.Put("four", Make(4));
  EXPECT_NE(c.Find("four"), nullptr);
}

}  // namespace
}  // namespace rv::strider
