#include "common/transport/change_subscriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/msg/topics.h"
#include "common/transport/curve.h"
#include "common/transport/zap.h"

namespace rv::transport {
namespace {

// The subscriber's clock in these tests: only the tests move it.
constexpr int64_t kT0 = 1000000;

// sauron's change stream as a subscriber sees it: a CURVE PUB under sauron's
// key sending [topic][body] (sauron/change_stream.h).
class Publisher {
 public:
  Publisher(zmq::context_t& ctx, const CurveKeypair& key) : pub(ctx, zmq::socket_type::pub) {
    SetDefaults(pub);
    MakeCurveServer(pub, key);
    pub.bind("tcp://127.0.0.1:*");
    endpoint = pub.get(zmq::sockopt::last_endpoint);
  }
  void Frames(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      pub.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  void Publish(const std::string& topic, const std::string& detail) {
    msg::Change c;
    c.event.kind = "test";
    c.event.detail = detail;
    Frames({topic, msg::Encode(c)});
  }
  zmq::socket_t pub;
  std::string endpoint;
};

class ChangeSubscriberTest : public ::testing::Test {
 protected:
  ChangeSubscriberTest() : zap(ctx), publisher(ctx, server) {}  // ZAP before the PUB binds

  std::unique_ptr<ChangeSubscriber> Open(std::vector<std::string> topics = {"to/h1/"}) {
    zap.Allow(client.public_key, "h1");
    return OpenUnknown(std::move(topics));
  }
  // With a key sauron does not know (yet).
  std::unique_ptr<ChangeSubscriber> OpenUnknown(std::vector<std::string> topics = {"to/h1/"}) {
    ChangeSubscriberOptions o;
    o.endpoint = publisher.endpoint;
    o.key = client;
    o.server_public_key = server.public_key;
    o.topics = std::move(topics);
    o.name = "[h1] test";
    auto s = ChangeSubscriber::Open(ctx, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Polls `sub` (its clock reads `now`) until `done` or `ms` of real time;
  // `each`, if set, runs every 50 ms (a PUB drops what it sends before the
  // subscription has reached it, so tests publish until heard).
  bool PollUntil(ChangeSubscriber& sub, int ms, const std::function<bool()>& done,
                 const std::function<void()>& each = {}) {
    int64_t end = MonotonicMs() + ms, next_each = 0;
    while (!done()) {
      if (MonotonicMs() >= end) return false;
      if (each && MonotonicMs() >= next_each) {
        each();
        next_each = MonotonicMs() + 50;
      }
      std::vector<zmq::pollitem_t> items;
      sub.AppendPollItems(&items);
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
      sub.HandleReady(items.data(), now, [&](const Result<msg::Change>& c) {
        if (c.ok()) {
          got.push_back(c->event.detail);
        } else {
          errors.push_back(c.status().message());
        }
      });
    }
    return true;
  }
  bool Heard(const std::string& detail) const { return std::find(got.begin(), got.end(), detail) != got.end(); }

  zmq::context_t ctx = MakeContext(1);
  ZapAuthenticator zap;
  CurveKeypair server = GenerateKeypair();
  CurveKeypair client = GenerateKeypair();
  Publisher publisher;
  int64_t now = kT0;
  std::vector<std::string> got, errors;
};

TEST_F(ChangeSubscriberTest, HandsEachChangeOnItsTopicsToTheCallerAndNothingElse) {
  auto sub = Open({msg::HostTopic("h1", "overlay.changed"), msg::PodTopic("edge.changed")});
  ASSERT_TRUE(sub);
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("first"); },
                        [&] { publisher.Publish(msg::HostTopic("h1", "overlay.changed"), "first"); }));
  // Another host's topic sharing a prefix, and a kind not subscribed; then a
  // marker on the other topic proves they went by.
  publisher.Publish(msg::HostTopic("h10", "overlay.changed"), "wrong");
  publisher.Publish(msg::HostTopic("h1", "job.placed"), "wrong");
  publisher.Publish(msg::PodTopic("edge.changed"), "marker");
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("marker"); }));
  EXPECT_FALSE(Heard("wrong"));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(sub->refused(), 0);
  EXPECT_EQ(sub->resubscribe_at(), 0);
}

TEST_F(ChangeSubscriberTest, HandsAMalformedMessageOverAsAnErrorAndGoesOn) {
  auto sub = Open();
  ASSERT_TRUE(sub);
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("first"); },
                        [&] { publisher.Publish("to/h1/x", "first"); }));
  publisher.Frames({"to/h1/x", "\x93\x01"});  // truncated msgpack
  publisher.Frames({"to/h1/x", "a", "b"});    // three frames
  publisher.Frames({"to/h1/x"});              // a lone frame: no message at all
  publisher.Publish("to/h1/x", "marker");
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("marker"); }));
  EXPECT_EQ(errors.size(), 2u);
  got.erase(std::remove(got.begin(), got.end(), "first"), got.end());  // resent ones may trail
  EXPECT_EQ(got, std::vector<std::string>{"marker"});
}

// libzmq never retries a refused CURVE handshake: without a new socket the
// host would never hear sauron again once its key is allowed.
TEST_F(ChangeSubscriberTest, SubscribesAgainAfterARefusedHandshakeOnceTheBackoffRanOut) {
  auto sub = OpenUnknown();
  ASSERT_TRUE(sub);
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return sub->refused() == 1; }));
  EXPECT_EQ(sub->resubscribe_at(), kT0 + 500);
  zap.Allow(client.public_key, "h1");
  // The clock has not reached the backoff: the refused socket stays, deaf.
  now = kT0 + 499;
  auto t = sub->Tick(now);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(*t);
  EXPECT_FALSE(PollUntil(*sub, 300, [&] { return !got.empty(); }, [&] { publisher.Publish("to/h1/x", "early"); }));
  now = kT0 + 500;
  t = sub->Tick(now);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(*t);
  EXPECT_EQ(sub->resubscribe_at(), 0);
  EXPECT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("late"); }, [&] { publisher.Publish("to/h1/x", "late"); }))
      << "nothing heard within 5 s of subscribing again";
  EXPECT_EQ(sub->refused(), 1);
}

TEST_F(ChangeSubscriberTest, WaitsTwiceAsLongWhenRefusedAgain) {
  auto sub = OpenUnknown();
  ASSERT_TRUE(sub);
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return sub->refused() == 1; }));
  now = sub->resubscribe_at();
  ASSERT_TRUE(sub->Tick(now).ok());
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return sub->refused() == 2; }));
  EXPECT_EQ(sub->resubscribe_at(), now + 1000);
}

// The agent's case: sauron's welcome proves it knows the key now.
TEST_F(ChangeSubscriberTest, SubscribesAgainAtOnceWhenToldTheKeyIsKnownNow) {
  auto sub = OpenUnknown();
  ASSERT_TRUE(sub);
  auto idle = sub->ResubscribeNowIfRefused();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(*idle) << "re-made a socket nobody refused";
  ASSERT_TRUE(PollUntil(*sub, 5000, [&] { return sub->refused() == 1; }));
  zap.Allow(client.public_key, "h1");
  auto r = sub->ResubscribeNowIfRefused();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r);
  EXPECT_EQ(sub->resubscribe_at(), 0);
  EXPECT_TRUE(PollUntil(*sub, 5000, [&] { return Heard("now"); }, [&] { publisher.Publish("to/h1/x", "now"); }));
}

TEST_F(ChangeSubscriberTest, RefusesBadOptionsWithTheReason) {
  ChangeSubscriberOptions o;
  o.endpoint = publisher.endpoint;
  o.key = client;
  o.server_public_key = server.public_key;
  auto none = ChangeSubscriber::Open(ctx, o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no topics"), std::string::npos) << none.status().message();
  o.topics = {"to/h1/"};
  o.endpoint = "nonsense";
  auto bad = ChangeSubscriber::Open(ctx, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot subscribe to nonsense"), std::string::npos) << bad.status().message();
  o.endpoint = publisher.endpoint;
  o.server_public_key = "short";
  EXPECT_FALSE(ChangeSubscriber::Open(ctx, o).ok());
}

}  // namespace
}  // namespace rv::transport
