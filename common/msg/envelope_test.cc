#include "common/msg/envelope.h"

#include <gtest/gtest.h>

#include "common/msg/protocol.h"

namespace rv::msg {
namespace {

TEST(Envelope, BidRoundTrip) {
  Bid bid;
  bid.auction_id = 42;
  bid.host_id = "h1";
  bid.free = {1024, 2048, 500};
  bid.score = 0.25;
  bid.declines.push_back({"job-1", "ha: service web already on this host"});
  std::string bytes = Encode(bid, 7);
  auto env = DecodeEnvelope(bytes);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->type, "auction.bid");
  EXPECT_EQ(env->req_id, 7u);
  Bid out;
  ASSERT_TRUE(DecodeBody(*env, &out).ok());
  EXPECT_EQ(out.auction_id, 42);
  EXPECT_EQ(out.free.disk_mb, 2048);
  ASSERT_EQ(out.declines.size(), 1u);
  EXPECT_EQ(out.declines[0].job_id, "job-1");
}

TEST(Envelope, JobSpecRoundTripKeepsRulesAndConfig) {
  SubmitJobs req;
  JobSpec spec;
  spec.id = "web-0";
  spec.service = "web";
  spec.rules.ha = true;
  spec.rules.constraints["role"] = "app";
  spec.config["GREETING"] = "hi";
  spec.command = {"/bin/sleep", "60"};
  req.jobs.push_back(spec);
  auto env = DecodeEnvelope(Encode(req));
  ASSERT_TRUE(env.ok());
  SubmitJobs out;
  ASSERT_TRUE(DecodeBody(*env, &out).ok());
  ASSERT_EQ(out.jobs.size(), 1u);
  EXPECT_TRUE(out.jobs[0].rules.ha);
  EXPECT_EQ(out.jobs[0].rules.constraints.at("role"), "app");
  EXPECT_EQ(out.jobs[0].command[1], "60");
}

TEST(Envelope, ChangeWithOptionalRecords) {
  Change c;
  c.event.kind = "host.lost";
  c.host = HostRecord{};
  c.host->id = "h2";
  auto env = DecodeEnvelope(Encode(c));
  ASSERT_TRUE(env.ok());
  Change out;
  ASSERT_TRUE(DecodeBody(*env, &out).ok());
  ASSERT_TRUE(out.host.has_value());
  EXPECT_EQ(out.host->id, "h2");
  EXPECT_FALSE(out.job.has_value());
}

// A newer sender may add fields; an older one may lack some. Neither breaks us.
TEST(Envelope, UnknownFieldsIgnoredMissingFieldsDefaulted) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(kProtocolVersion);
  pk.pack(std::string("auction.hello"));
  pk.pack(0);
  pk.pack_map(2);
  pk.pack(std::string("host_id"));
  pk.pack(std::string("h9"));
  pk.pack(std::string("from_the_future"));
  pk.pack(1);
  auto env = DecodeEnvelope(buf.data(), buf.size());
  ASSERT_TRUE(env.ok());
  StriderHello hello;
  ASSERT_TRUE(DecodeBody(*env, &hello).ok());
  EXPECT_EQ(hello.host_id, "h9");

  Bid bid;  // no fields at all present
  env->type = Bid::kType;
  ASSERT_TRUE(DecodeBody(*env, &bid).ok());
  EXPECT_EQ(bid.auction_id, 0);
}

TEST(Envelope, RejectsEmptyTruncatedAndTrailing) {
  EXPECT_FALSE(DecodeEnvelope("", 0).ok());
  std::string bytes = Encode(StriderHello{"h1"});
  for (size_t n = 1; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeEnvelope(bytes.data(), n).ok()) << "truncated at " << n;
  }
  EXPECT_FALSE(DecodeEnvelope(bytes + "x").ok());
}

TEST(Envelope, RejectsUnknownVersion) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(99);
  pk.pack(std::string("auction.hello"));
  pk.pack(0);
  pk.pack_map(0);
  auto env = DecodeEnvelope(buf.data(), buf.size());
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("version 99"), std::string::npos);
}

TEST(Envelope, RejectsWrongShapes) {
  auto pack = [](auto fn) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    fn(pk);
    return std::string(buf.data(), buf.size());
  };
  EXPECT_FALSE(DecodeEnvelope(pack([](auto& pk) { pk.pack(1); })).ok());
  EXPECT_FALSE(DecodeEnvelope(pack([](auto& pk) { pk.pack_array(3); pk.pack(1); pk.pack(1); pk.pack(1); })).ok());
  EXPECT_FALSE(DecodeEnvelope(pack([](auto& pk) {
                 pk.pack_array(4); pk.pack(1); pk.pack(std::string("x")); pk.pack(0); pk.pack_array(0);
               })).ok());
  // Body of the wrong type for the struct: a string where a map of fields is expected.
  std::string bad = pack([](auto& pk) {
    pk.pack_array(4); pk.pack(1); pk.pack(std::string("auction.bid")); pk.pack(0);
    pk.pack_map(1); pk.pack(std::string("free")); pk.pack(std::string("lots"));
  });
  auto env = DecodeEnvelope(bad);
  ASSERT_TRUE(env.ok());
  Bid bid;
  EXPECT_FALSE(DecodeBody(*env, &bid).ok());
  // Type mismatch is refused.
  StriderHello hello;
  EXPECT_FALSE(DecodeBody(*env, &hello).ok());
}

TEST(Envelope, RejectsHostileSizes) {
  // An array header claiming 4 billion elements, with nothing behind it.
  std::string huge = "\xdd\xff\xff\xff\xff";
  EXPECT_FALSE(DecodeEnvelope(huge).ok());
  // Nesting deeper than the limit.
  std::string deep(100, '\x91');
  deep += '\x00';
  EXPECT_FALSE(DecodeEnvelope(deep).ok());
  // A message over the size limit is refused before parsing.
  std::string big(kMaxMessageBytes + 1, '\0');
  EXPECT_FALSE(DecodeEnvelope(big).ok());
}

}  // namespace
}  // namespace rv::msg
