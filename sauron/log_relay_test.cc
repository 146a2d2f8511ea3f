#include "sauron/log_relay.h"

#include <gtest/gtest.h>

namespace rv::sauron {
namespace {

msg::LogChunk Chunk(const std::string& data) {
  msg::LogChunk c;
  c.data = data;
  c.next = {7, static_cast<int64_t>(data.size())};
  return c;
}

TEST(LogRelayTest, AChunkTheHostDeliversIsTakenOnceAndMarkedReady) {
  LogRelay r;
  auto token = r.Open("h1", 1000);
  ASSERT_TRUE(token.ok());
  auto pending = r.Take(*token, 1001);
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value()) << "not delivered yet";
  ASSERT_TRUE(r.Deliver("h1", *token, Chunk("hello\n"), 1002).ok());
  auto got = r.Take(*token, 1003);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->ready);
  EXPECT_EQ((*got)->data, "hello\n");
  EXPECT_EQ((*got)->next.ino, 7u);
  EXPECT_EQ(r.Take(*token, 1004).status().code(), Status::Code::kNotFound) << "taken once";
  EXPECT_EQ(r.open(), 0u);
}

TEST(LogRelayTest, OnlyTheHostAskedMayDeliverAndOnlyOnce) {
  LogRelay r;
  auto token = r.Open("h1", 0);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(r.Deliver("h2", *token, Chunk("forged"), 1).code(), Status::Code::kDenied);
  ASSERT_TRUE(r.Deliver("h1", *token, Chunk("real"), 2).ok());
  EXPECT_EQ(r.Deliver("h1", *token, Chunk("again"), 3).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.Take(*token, 4)->value().data, "real");
}

TEST(LogRelayTest, AnUnknownTokenIsNotFoundAndTokensAreNotGuessable) {
  LogRelay r;
  EXPECT_EQ(r.Deliver("h1", "0", Chunk("x"), 0).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.Take("0", 0).status().code(), Status::Code::kNotFound);
  auto a = r.Open("h1", 0), b = r.Open("h1", 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 32u);
}

TEST(LogRelayTest, AWantIsForgottenAfterItsTtlWhetherOrNotItWasAnswered) {
  LogRelay r;
  auto unanswered = r.Open("h1", 0), untaken = r.Open("h2", 0);
  ASSERT_TRUE(unanswered.ok() && untaken.ok());
  ASSERT_TRUE(r.Deliver("h2", *untaken, Chunk("late reader"), 5).ok());
  EXPECT_EQ(r.Take(*untaken, LogRelay::kTtlMs).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.Deliver("h1", *unanswered, Chunk("late host"), LogRelay::kTtlMs).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.open(), 0u);
}

TEST(LogRelayTest, PastItsBoundItRefusesNewReadsUntilOldOnesExpire) {
  LogRelay r;
  for (size_t i = 0; i < LogRelay::kMaxOpen; ++i) ASSERT_TRUE(r.Open("h1", 0).ok());
  auto refused = r.Open("h1", 1);
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("too many log reads"), std::string::npos);
  EXPECT_TRUE(r.Open("h1", LogRelay::kTtlMs).ok()) << "the old ones expired";
  EXPECT_EQ(r.open(), 1u);
}

TEST(LogRelayTest, AChunkOverTheLimitIsRefused) {
  LogRelay r;
  auto token = r.Open("h1", 0);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(r.Deliver("h1", *token, Chunk(std::string(msg::kMaxLogChunkBytes + 1, 'x')), 1).code(),
            Status::Code::kInvalid);
}

}  // namespace
}  // namespace rv::sauron
