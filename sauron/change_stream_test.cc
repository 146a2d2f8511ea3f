#include "sauron/change_stream.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rv::sauron
