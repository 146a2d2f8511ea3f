// The strider and sauron links over real CURVE sockets on loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/msg/topics.h"
#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "common/transport/zap.h"
#include "elrond/sauron_link.h"
#include "elrond/strider_link.h"

namespace rv::elrond {
namespace {

int64_t Now() { return MonotonicMs(); }

class NullRegistry : public Registry {
 public:
  Result<msg::Outcomes> RecordAwards(const msg::AwardRecordRequest& req) override {
    msg::Outcomes out;
    for (const auto& a : req.awards) out.results.push_back({a.job_id, a.attempt + 1, true, ""});
    return out;
  }
  Result<msg::Outcomes> Revoke(const msg::RevokeRequest&) override { return msg::Outcomes{}; }
  Status RecordPending(const msg::PendingReasonsRequest&) override { return Status::Ok(); }
};

// A strider's DEALER: routing id = host id, CURVE client of elrond.
struct FakeStrider {
  FakeStrider(zmq::context_t& ctx, const std::string& endpoint, const std::string& elrond_pub,
              const std::string& routing_id, const transport::CurveKeypair& kp)
      : sock(ctx, zmq::socket_type::dealer) {
    transport::SetDefaults(sock);
    transport::MakeCurveClient(sock, kp, elrond_pub);
    sock.set(zmq::sockopt::routing_id, routing_id);
    sock.connect(endpoint);
  }
  template <typename T>
  void Send(const T& m) {
    std::string b = msg::Encode(m);
    sock.send(zmq::buffer(b), zmq::send_flags::none);
  }
  // Waits for one message of type T while pumping the elrond side.
  template <typename T>
  bool Receive(T* out, const std::function<void()>& pump, int timeout_ms = 3000) {
    int64_t end = Now() + timeout_ms;
    while (Now() < end) {
      pump();
      zmq::message_t m;
      if (sock.recv(m, zmq::recv_flags::dontwait)) {
        auto env = msg::DecodeEnvelope(m.data(), m.size());
        if (env.ok() && env->type == T::kType && msg::DecodeBody(*env, out).ok()) return true;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  zmq::socket_t sock;
};

struct Elrond {
  Elrond() : ctx(), link(ctx, server, &counters), engine(Opts(), &link, &reg, &counters) {
    EXPECT_TRUE(link.Bind("tcp://127.0.0.1:*").ok());
    engine.OnHostKey([this](const std::string& id, const std::string& key, bool allow) {
      link.SetHostKey(id, key, allow);
    });
  }
  static EngineOptions Opts() {
    EngineOptions o;
    o.bid_deadline_ms = 500;
    return o;
  }
  void Pump() {
    link.Drain(engine, &Now);
    engine.Tick(Now());
  }
  void AddHost(const std::string& id, const std::string& key) {
    msg::HostRecord h;
    h.id = id;
    h.state = "up";
    h.public_key = key;
    h.capacity = {4096, 100000, 4000};
    h.free = h.capacity;
    engine.ApplyHost(h, Now());
  }
  transport::CurveKeypair server = transport::GenerateKeypair();
  zmq::context_t ctx;
  Counters counters;
  NullRegistry reg;
  StriderLink link;
  AuctionEngine engine;
};

TEST(StriderLink, EnrolledStriderBidsAndIsAwardedOverCurve) {
  Elrond e;
  auto kp = transport::GenerateKeypair();
  e.AddHost("h1", kp.public_key);
  FakeStrider s(e.ctx, e.link.endpoint(), e.server.public_key, "h1", kp);
  s.Send(msg::StriderHello{"h1"});
  int64_t end = Now() + 3000;
  while (e.counters.Get("hello.ok") == 0 && Now() < end) {
    e.Pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(e.counters.Get("hello.ok"), 1);

  msg::JobRecord r;
  r.spec.id = "j1";
  r.spec.resources = {512, 10, 10};
  r.spec.config["SECRET_LOOKING"] = "never in an announce";
  r.state = "pending";
  e.engine.ApplyJob(r, Now());
  msg::Announce ann;
  ASSERT_TRUE(s.Receive(&ann, [&] { e.Pump(); }));
  ASSERT_EQ(ann.jobs.size(), 1u);
  EXPECT_EQ(ann.jobs[0].job_id, "j1");
  msg::Bid bid;
  bid.auction_id = ann.auction_id;
  bid.host_id = "h1";
  bid.free = {4096, 100000, 4000};
  bid.capacity = bid.free;
  s.Send(bid);
  msg::Award award;
  ASSERT_TRUE(s.Receive(&award, [&] { e.Pump(); }));
  ASSERT_EQ(award.jobs.size(), 1u);
  EXPECT_EQ(award.jobs[0].spec.id, "j1");
  EXPECT_EQ(award.jobs[0].attempt, 1);
  EXPECT_EQ(award.jobs[0].spec.config.at("SECRET_LOOKING"), "never in an announce");
}

TEST(StriderLink, UnenrolledKeyCannotConnect) {
  Elrond e;
  auto enrolled = transport::GenerateKeypair();
  e.AddHost("h1", enrolled.public_key);
  auto stranger = transport::GenerateKeypair();
  FakeStrider s(e.ctx, e.link.endpoint(), e.server.public_key, "h1", stranger);
  s.Send(msg::StriderHello{"h1"});
  int64_t end = Now() + 2000;
  while (e.link.refused() == 0 && Now() < end) {
    e.Pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(e.link.refused(), 1);
  EXPECT_EQ(e.counters.Get("hello.ok"), 0);
}

TEST(StriderLink, RoutingIdMustMatchTheAuthenticatedHost) {
  Elrond e;
  auto kp = transport::GenerateKeypair();
  e.AddHost("h1", kp.public_key);
  e.AddHost("h2", transport::GenerateKeypair().public_key);
  FakeStrider s(e.ctx, e.link.endpoint(), e.server.public_key, "h2", kp);  // h1's key, h2's id
  s.Send(msg::StriderHello{"h2"});
  int64_t end = Now() + 3000;
  while (e.counters.Get("msg.routing_mismatch") == 0 && Now() < end) {
    e.Pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(e.counters.Get("msg.routing_mismatch"), 1);
  EXPECT_EQ(e.counters.Get("hello.ok"), 0);
  // Garbage from an enrolled host is counted, not fatal.
  FakeStrider good(e.ctx, e.link.endpoint(), e.server.public_key, "h1", kp);
  good.sock.send(zmq::buffer(std::string("\xc1\xff garbage")), zmq::send_flags::none);
  end = Now() + 3000;
  while (e.counters.Get("msg.malformed") == 0 && Now() < end) {
    e.Pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(e.counters.Get("msg.malformed"), 1);
}

TEST(StriderLink, SendToUnconnectedHostFailsAtOnce) {
  Elrond e;
  EXPECT_FALSE(e.link.Send("nobody", msg::Encode(msg::StriderHello{"x"})));
  std::vector<char> reached;
  e.link.Multicast({"a", "b"}, msg::Encode(msg::StriderHello{"x"}), &reached);
  EXPECT_EQ(reached, (std::vector<char>{0, 0}));
}

// A minimal sauron: ROUTER answering sched.snapshot, PUB for changes.
TEST(SauronLink, SnapshotThenChangesWithGapDetection) {
  auto dir = std::filesystem::temp_directory_path() / ("elrond_links_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  zmq::context_t sctx;
  transport::ZapAuthenticator zap(sctx);
  auto sauron_kp = transport::GenerateKeypair();
  auto elrond_kp = transport::GenerateKeypair();
  zap.Allow(elrond_kp.public_key, "elrond");
  zmq::socket_t router(sctx, zmq::socket_type::router), pub(sctx, zmq::socket_type::pub);
  transport::MakeCurveServer(router, sauron_kp);
  transport::MakeCurveServer(pub, sauron_kp);
  router.bind("tcp://127.0.0.1:*");
  pub.bind("tcp://127.0.0.1:*");

  PodConfig cfg;
  cfg.pod_dir = dir.string();
  cfg.sauron.api = router.get(zmq::sockopt::last_endpoint);
  cfg.sauron.pub = pub.get(zmq::sockopt::last_endpoint);
  cfg.sauron.public_key = sauron_kp.public_key;
  ASSERT_EQ(*SauronPublicKey(cfg), sauron_kp.public_key);

  zmq::context_t ectx;
  Counters counters;
  SauronLink link(ectx, cfg, elrond_kp, sauron_kp.public_key, &counters, std::chrono::milliseconds(3000));
  NullRegistry reg;
  class NoOut : public Outbox {
   public:
    void Multicast(const std::vector<std::string>& h, const std::string&, std::vector<char>* r) override {
      r->assign(h.size(), 0);
    }
    bool Send(const std::string&, const std::string&) override { return false; }
  } out;
  AuctionEngine engine(EngineOptions{}, &out, &reg, &counters);

  std::thread server([&] {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    if (!(item.revents & ZMQ_POLLIN)) return;
    zmq::message_t id, body;
    (void)router.recv(id);
    (void)router.recv(body);
    EXPECT_STREQ(body.gets("User-Id"), "elrond");
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    msg::Snapshot snap;
    snap.seq = 10;
    msg::HostRecord h;
    h.id = "h1";
    h.state = "up";
    h.capacity = {1000, 1000, 1000};
    snap.hosts.push_back(h);
    std::string reply = transport::EncodeReplyWith(env->req_id, snap);
    router.send(id, zmq::send_flags::sndmore);
    router.send(zmq::buffer(reply));
  });
  auto snap = link.TakeSnapshot();
  server.join();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  engine.ApplySnapshot(*snap, Now());
  link.Synced(snap->seq);
  ASSERT_NE(engine.host("h1"), nullptr);

  auto submitted = [](int64_t seq, const std::string& job) {
    msg::Change c;
    c.event.seq = seq;
    c.event.kind = "job.submitted";
    msg::JobRecord r;
    r.spec.id = job;
    r.spec.resources = {10, 10, 10};
    r.state = "pending";
    c.job = r;
    return c;
  };
  auto publish_feed = [&](const std::vector<msg::Change>& changes) {
    std::string b = msg::Encode(msg::Changes{changes});
    pub.send(zmq::buffer(std::string(msg::kFeedTopic)), zmq::send_flags::sndmore);
    pub.send(zmq::buffer(b));
  };
  auto publish = [&](int64_t seq, const std::string& job) { publish_feed({submitted(seq, job)}); };
  // The SUB needs a moment to join: publish seq 10 (already in the snapshot)
  // until something arrives, then the real events.
  int64_t end = Now() + 3000;
  while (Now() < end) {
    publish(10, "old");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (link.Drain(engine, &Now) > 0) break;
  }
  EXPECT_EQ(engine.JobPhase("old"), "") << "events up to the snapshot's seq are skipped";
  publish(11, "j11");
  // One feed message, a commit's worth: 12 applies, 13 went missing.
  publish_feed({submitted(12, "j12"), submitted(14, "j14"), submitted(15, "j15")});
  end = Now() + 3000;
  while (!link.gap() && Now() < end) {
    link.Drain(engine, &Now);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(engine.JobPhase("j11"), "queued");
  EXPECT_EQ(engine.JobPhase("j12"), "queued");
  EXPECT_TRUE(link.gap());
  EXPECT_EQ(engine.JobPhase("j14"), "") << "after a gap, nothing is applied until a new snapshot";
  EXPECT_EQ(engine.JobPhase("j15"), "");
  EXPECT_EQ(counters.Get("change.gap"), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rv::elrond
