#include "strider/proxy_notice_listener.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "common/clock.h"
#include "common/event_kinds.h"
#include "common/proxy_notice.h"
#include "common/transport/curve.h"
#include "common/transport/zap.h"
#include "sauron/change_stream.h"

namespace rv::strider {
namespace {

msg::Change Notice(const std::string& env, const std::vector<std::string>& hosts, int64_t seq, int64_t ts = 0) {
  msg::Change c;
  c.event.seq = seq;
  c.event.ts_ms = ts ? ts : WallMs();
  c.event.kind = event_kind::kProxyChanged;
  c.event.detail = FormatProxyNotice(env, hosts);
  return c;
}

TEST(ProxyWakeups, WakesOnlyTheProxiesOfTheNamedEnvAndNeverAfterRemove) {
  ProxyWakeups w;
  int a = 0, b = 0;
  uint64_t ida = w.Add("acme/prod", [&](int64_t) { ++a; });
  w.Add("globex/prod", [&](int64_t) { ++b; });
  EXPECT_EQ(w.Notify("acme/prod", 1), 1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  w.Remove(ida);
  EXPECT_EQ(w.Notify("acme/prod", 2), 0);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(w.notices(), 2);
}

// Over sauron's real CURVE change stream: h1's listener wakes acme/prod's
// proxies for a notice naming h1, and nothing for another env's notice or a
// notice addressed to other hosts only.
TEST(ProxyNoticeListener, AWakeReachesTheEnvsProxiesOnTheNamedHostOnly) {
  zmq::context_t ctx = transport::MakeContext(1);
  auto server = transport::GenerateKeypair();
  sauron::ChangeStream stream(ctx, server);
  ASSERT_TRUE(stream.Bind("tcp://127.0.0.1:*").ok());
  auto wakeups = std::make_shared<ProxyWakeups>();
  std::atomic<int> acme{0}, globex{0}, wrong{0};
  std::atomic<int64_t> acme_event_ms{0};
  // Notices that must not wake anyone carry ts 1 and 2; the marker ts 3.
  wakeups->Add("acme/prod", [&](int64_t ms) {
    acme_event_ms = ms;
    ++acme;
    if (ms < 10) ++wrong;
  });
  wakeups->Add("globex/prod", [&](int64_t ms) {
    ++globex;
    if (ms != 3) ++wrong;
  });
  ProxyNoticeListener h1(ctx, ProxyNoticeOptions{"h1", stream.endpoint(), transport::GenerateKeypair(), server.public_key},
                         wakeups);
  h1.Start();
  // The subscription reaches the publisher asynchronously: notify until heard.
  int64_t seq = 1, end = MonotonicMs() + 5000;
  while (acme.load() == 0 && MonotonicMs() < end) {
    stream.Publish(Notice("acme/prod", {"h1", "h2"}, seq++));
    usleep(20000);
  }
  ASSERT_GT(acme.load(), 0) << "no notice within 5 s";
  EXPECT_GT(acme_event_ms.load(), 0);
  // Not for h1 (h10 shares a prefix), and not this env: neither wakes; then a
  // marker in the same stream proves they were delivered and ignored.
  stream.Publish(Notice("globex/prod", {"h10", "h2"}, seq++, 1));
  stream.Publish(Notice("acme/prod", {"h2"}, seq++, 2));
  msg::Change bad;
  bad.event.kind = event_kind::kProxyChanged;
  bad.event.ts_ms = 1;
  bad.event.detail = "h1";  // malformed: no env
  stream.Publish(bad);
  stream.Publish(Notice("globex/prod", {"h1"}, seq++, 3));  // the marker
  end = MonotonicMs() + 5000;
  while (globex.load() == 0 && MonotonicMs() < end) usleep(10000);
  EXPECT_EQ(globex.load(), 1);
  EXPECT_EQ(wrong.load(), 0);
}

// A host whose key sauron did not know when it subscribed (refused CURVE
// handshake, which libzmq never retries) hears notices once its key is allowed.
TEST(ProxyNoticeListener, SubscribesAgainAfterARefusedHandshake) {
  zmq::context_t ctx = transport::MakeContext(1);
  transport::ZapAuthenticator zap(ctx);  // before the PUB binds
  auto server = transport::GenerateKeypair();
  sauron::ChangeStream stream(ctx, server);
  ASSERT_TRUE(stream.Bind("tcp://127.0.0.1:*").ok());
  auto wakeups = std::make_shared<ProxyWakeups>();
  std::atomic<int> woken{0};
  wakeups->Add("acme/prod", [&](int64_t) { ++woken; });
  auto key = transport::GenerateKeypair();
  ProxyNoticeListener h1(ctx, ProxyNoticeOptions{"h1", stream.endpoint(), key, server.public_key}, wakeups);
  h1.Start();
  int64_t seq = 1, end = MonotonicMs() + 600;
  while (MonotonicMs() < end) {
    stream.Publish(Notice("acme/prod", {"h1"}, seq++));
    usleep(20000);
  }
  EXPECT_EQ(woken.load(), 0) << "a refused key heard a notice";
  zap.Allow(key.public_key, "h1");
  end = MonotonicMs() + 10000;
  while (woken.load() == 0 && MonotonicMs() < end) {
    stream.Publish(Notice("acme/prod", {"h1"}, seq++));
    usleep(20000);
  }
  EXPECT_GT(woken.load(), 0) << "no notice within 10 s of the key being allowed";
}

}  // namespace
}  // namespace rv::strider
