#include "sauron/change_stream.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/msg/topics.h"
#include "common/transport/curve.h"

namespace rv::sauron {
namespace {

msg::Change JobChange(const std::string& kind, const std::string& event_host, const std::string& job_host) {
  msg::Change c;
  c.event.kind = kind;
  c.event.host_id = event_host;
  c.event.job_id = "j1";
  msg::JobRecord r;
  r.spec.id = "j1";
  r.host_id = job_host;
  c.job = r;
  return c;
}

TEST(ChangeStream, JobEventsAreAddressedToTheHostTheyLeftAndTheHostTheyAreOn) {
  EXPECT_EQ(AddressedHosts(JobChange("job.revoked", "h1", "")), std::vector<std::string>{"h1"});
  EXPECT_EQ(AddressedHosts(JobChange("job.placed", "h2", "h2")), std::vector<std::string>{"h2"});
  EXPECT_EQ(AddressedHosts(JobChange("job.awarded", "h1", "h3")), (std::vector<std::string>{"h1", "h3"}));
  EXPECT_TRUE(AddressedHosts(JobChange("job.submitted", "", "")).empty());
}

TEST(ChangeStream, OverlayChangesAreAddressedToTheHostsInTheirDetail) {
  msg::Change c;
  c.event.kind = "overlay.changed";
  c.event.detail = "h1,h2,,h1";
  EXPECT_EQ(AddressedHosts(c), (std::vector<std::string>{"h1", "h2"}));
  c.event.kind = "host.up";
  c.event.host_id = "h1";
  EXPECT_TRUE(AddressedHosts(c).empty());  // whole-pod watchers only
  c.event.kind = "host.lost";
  EXPECT_EQ(AddressedHosts(c), std::vector<std::string>{"h1"});  // so a live host can say hello again
}

TEST(ChangeStream, ProxyNoticesAreAddressedToTheEnvsProxyHosts) {
  msg::Change c;
  c.event.kind = "proxy.changed";
  c.event.detail = "acme/prod h1,h3";
  EXPECT_EQ(AddressedHosts(c), (std::vector<std::string>{"h1", "h3"}));
  c.event.detail = "malformed";
  EXPECT_TRUE(AddressedHosts(c).empty());
  c.event.kind = "edge.changed";
  c.event.detail = "";
  EXPECT_TRUE(AddressedHosts(c).empty());  // the edge hears it under all/edge.changed
}

// Over a real CURVE PUB: a host's subscriber gets only its own events, a pod
// watcher gets each event once.
TEST(ChangeStream, HostSubscriberSeesOnlyItsEventsAndPodWatcherSeesAllOnce) {
  zmq::context_t ctx = transport::MakeContext(1);
  auto server = transport::GenerateKeypair();
  ChangeStream stream(ctx, server);
  ASSERT_TRUE(stream.Bind("tcp://127.0.0.1:*").ok());
  auto sub = [&](const std::string& topic) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
    transport::MakeCurveClient(*s, transport::GenerateKeypair(), server.public_key);
    s->set(zmq::sockopt::subscribe, topic);
    s->connect(stream.endpoint());
    return s;
  };
  auto h1 = sub(msg::HostTopic("h1", "job."));
  auto h10 = sub(msg::HostTopic("h10", "job."));
  auto pod = sub(std::string(msg::kPodTopicPrefix));
  auto drain = [](zmq::socket_t& s, std::vector<int64_t>* seqs) {
    for (;;) {
      zmq::message_t topic, body;
      if (!s.recv(topic, zmq::recv_flags::dontwait)) return;
      ASSERT_TRUE(topic.more());
      ASSERT_TRUE(s.recv(body, zmq::recv_flags::none));
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      ASSERT_TRUE(env.ok());
      msg::Change c;
      ASSERT_TRUE(msg::DecodeBody(*env, &c).ok());
      seqs->push_back(c.event.seq);
    }
  };
  // Subscriptions travel to the publisher asynchronously: publish a marker
  // until the pod watcher and both hosts see one.
  std::vector<int64_t> got_h1, got_h10, got_pod;
  int64_t end = MonotonicMs() + 5000;
  while (MonotonicMs() < end && (got_h1.empty() || got_h10.empty() || got_pod.empty())) {
    msg::Change m = JobChange("job.placed", "h1", "h10");
    m.event.seq = -1;
    stream.Publish(m);
    usleep(20000);
    drain(*h1, &got_h1);
    drain(*h10, &got_h10);
    drain(*pod, &got_pod);
  }
  ASSERT_FALSE(got_pod.empty());
  got_h1.clear(), got_h10.clear(), got_pod.clear();

  msg::Change a = JobChange("job.revoked", "h1", "");
  a.event.seq = 1;
  msg::Change b = JobChange("job.placed", "h10", "h10");
  b.event.seq = 2;
  msg::Change c;
  c.event.kind = "host.up";
  c.event.host_id = "h1";
  c.event.seq = 3;
  for (const auto& ch : {a, b, c}) stream.Publish(ch);
  usleep(100000);
  drain(*h1, &got_h1);
  drain(*h10, &got_h10);
  drain(*pod, &got_pod);
  auto real = [](std::vector<int64_t> v) {
    v.erase(std::remove(v.begin(), v.end(), -1), v.end());
    return v;
  };
  EXPECT_EQ(real(got_h1), std::vector<int64_t>{1});
  EXPECT_EQ(real(got_h10), std::vector<int64_t>{2});
  EXPECT_EQ(real(got_pod), (std::vector<int64_t>{1, 2, 3}));
}

// The feed: the changes between two flushes arrive as one msg::Changes, in
// order and equal to what was published; a full batch goes without a flush.
TEST(ChangeStream, FeedCarriesEachFlushsChangesInOneMessageInOrder) {
  zmq::context_t ctx = transport::MakeContext(1);
  auto server = transport::GenerateKeypair();
  ChangeStream stream(ctx, server);
  ASSERT_TRUE(stream.Bind("tcp://127.0.0.1:*").ok());
  zmq::socket_t feed(ctx, zmq::socket_type::sub);
  transport::MakeCurveClient(feed, transport::GenerateKeypair(), server.public_key);
  feed.set(zmq::sockopt::subscribe, std::string(msg::kFeedTopic));
  feed.set(zmq::sockopt::rcvhwm, 0);
  feed.connect(stream.endpoint());
  auto next = [&](int timeout_ms) -> std::optional<msg::Changes> {
    for (int64_t end = MonotonicMs() + timeout_ms; MonotonicMs() < end;) {
      zmq::message_t topic, body;
      if (!feed.recv(topic, zmq::recv_flags::dontwait)) {
        usleep(2000);
        continue;
      }
      EXPECT_EQ(topic.to_string(), msg::kFeedTopic);
      EXPECT_TRUE(feed.recv(body, zmq::recv_flags::none));
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      msg::Changes out;
      if (!env.ok() || !msg::DecodeBody(*env, &out).ok()) return std::nullopt;
      return out;
    }
    return std::nullopt;
  };
  // Wait for the subscription with markers (seq -1).
  std::optional<msg::Changes> got;
  for (int64_t end = MonotonicMs() + 5000; !got && MonotonicMs() < end;) {
    msg::Change m = JobChange("job.placed", "h1", "h1");
    m.event.seq = -1;
    stream.Publish(m);
    stream.Flush();
    got = next(20);
  }
  ASSERT_TRUE(got.has_value());
  while (next(50)) {
  }

  std::vector<msg::Change> sent;
  for (int i = 1; i <= 3; ++i) {
    msg::Change c = JobChange(i == 2 ? "job.awarded" : "job.state", "h1", "h2");
    c.event.seq = i;
    c.event.detail = "detail " + std::to_string(i);
    c.job->attempt = i;
    sent.push_back(c);
    stream.Publish(c);
  }
  EXPECT_FALSE(next(50).has_value()) << "nothing before the flush";
  stream.Flush();
  stream.Flush();  // an empty flush sends nothing
  got = next(2000);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->changes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got->changes[i].event.seq, sent[i].event.seq);
    EXPECT_EQ(got->changes[i].event.kind, sent[i].event.kind);
    EXPECT_EQ(got->changes[i].event.detail, sent[i].event.detail);
    ASSERT_TRUE(got->changes[i].job.has_value());
    EXPECT_EQ(got->changes[i].job->attempt, sent[i].job->attempt);
    EXPECT_EQ(got->changes[i].job->host_id, "h2");
  }
  EXPECT_FALSE(next(50).has_value());

  for (size_t i = 0; i < ChangeStream::kMaxFeedBatch + 1; ++i) {
    msg::Change c = JobChange("job.state", "h1", "h1");
    c.event.seq = 100 + static_cast<int64_t>(i);
    stream.Publish(c);
  }
  got = next(2000);
  ASSERT_TRUE(got.has_value()) << "a full batch is sent without a flush";
  EXPECT_EQ(got->changes.size(), ChangeStream::kMaxFeedBatch);
  stream.Flush();
  got = next(2000);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->changes.size(), 1u);
  EXPECT_EQ(got->changes[0].event.seq, 100 + static_cast<int64_t>(ChangeStream::kMaxFeedBatch));
}

}  // namespace
}  // namespace rv::sauron
