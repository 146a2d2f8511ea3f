// Agent against in-process fake sauron and elrond ROUTERs (real CURVE sockets
// over loopback): the award protocol, fencing and bad input.
#include "strider/agent.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/transport/beacon.h"
#include "common/transport/curve.h"
#include "common/transport/monitor.h"
#include "common/msg/topics.h"
#include "common/transport/rpc_client.h"
#include "common/transport/zap.h"
#include "strider/beacon_pump.h"
#include "strider/beacon_receiver_for_test.h"
#include "strider/journal.h"
#include "strider/sim_workload.h"

namespace rv::strider {
namespace {

// Records the secrets each job was started with (then behaves as SimWorkload).
struct SecretsSeen {
  std::map<std::string, std::map<std::string, std::string>> by_job;
  std::set<std::string> adoptable;  // jobs whose container "still runs" (live restore)
  std::set<std::string> adopted;
};
class CapturingFactory : public WorkloadFactory {
 public:
  explicit CapturingFactory(std::shared_ptr<SecretsSeen> seen) : seen_(std::move(seen)) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec& spec, StateCallback on_state) override {
    class W : public SimWorkload {
     public:
      W(StateCallback cb, std::shared_ptr<SecretsSeen> seen) : SimWorkload(std::move(cb)), seen_(std::move(seen)) {}
      Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override {
        seen_->by_job[spec.id] = secrets;
        return SimWorkload::Start(spec, secrets);
      }
      Status Adopt(const msg::JobSpec& spec) override {
        if (!seen_->adoptable.count(spec.id)) return Status::NotFound("not running");
        seen_->adopted.insert(spec.id);
        return Status::Ok();
      }
      std::shared_ptr<SecretsSeen> seen_;
    };
    (void)spec;
    return std::make_unique<W>(std::move(on_state), seen_);
  }
  std::shared_ptr<SecretsSeen> seen_;
};

struct Received {
  std::string from;
  msg::Envelope env;
};

// A CURVE ROUTER that records what it gets. Lives in the test thread.
class FakeDaemon {
 public:
  explicit FakeDaemon(zmq::context_t& ctx) : router(ctx, zmq::socket_type::router) {
    key = transport::GenerateKeypair();
    transport::SetDefaults(router);
    transport::MakeCurveServer(router, key);
    router.set(zmq::sockopt::router_handover, 1);  // a restarted agent (same id) takes over at once
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }
  void Drain() {
    while (true) {
      zmq::message_t id, body;
      if (!router.recv(id, zmq::recv_flags::dontwait)) return;
      (void)router.recv(body, zmq::recv_flags::none);
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      if (!env.ok()) continue;
      std::string from = id.to_string();
      if (on_message && on_message(from, *env)) continue;
      got.push_back(Received{from, *env});
    }
  }
  void SendTo(const std::string& to, const std::string& bytes) {
    router.send(zmq::buffer(to), zmq::send_flags::sndmore);
    router.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  template <typename T>
  std::vector<T> All() const {
    std::vector<T> out;
    for (const auto& r : got) {
      T t;
      if (msg::DecodeBody(r.env, &t).ok()) out.push_back(t);
    }
    return out;
  }
  zmq::socket_t router;
  transport::CurveKeypair key;
  std::string endpoint;
  std::vector<Received> got;
  std::function<bool(const std::string&, const msg::Envelope&)> on_message;
};

// sauron's change stream as a host sees it: a CURVE PUB under sauron's key,
// with a monitor counting the subscribers' connections.
class FakeChangeStream {
 public:
  FakeChangeStream(zmq::context_t& ctx, const transport::CurveKeypair& key) : pub(ctx, zmq::socket_type::pub) {
    transport::SetDefaults(pub);
    transport::MakeCurveServer(pub, key);
    monitor = std::make_unique<transport::ConnectionMonitor>(ctx, pub);
    pub.bind("tcp://127.0.0.1:*");
    endpoint = pub.get(zmq::sockopt::last_endpoint);
  }
  void HostLost(const std::string& host) {
    msg::Change c;
    c.event.kind = "host.lost";
    c.event.host_id = host;
    c.event.detail = "test";
    pub.send(zmq::buffer(msg::HostTopic(host, "host.lost")), zmq::send_flags::sndmore);
    pub.send(zmq::buffer(msg::Encode(c)), zmq::send_flags::none);
  }
  void CountConnections() {
    while (auto ev = monitor->Next()) {
      if (ev->kind == transport::ConnEvent::kAccepted) ++accepted;
      if (ev->kind == transport::ConnEvent::kDisconnected) ++disconnected;
    }
  }
  zmq::socket_t pub;
  std::unique_ptr<transport::ConnectionMonitor> monitor;
  std::string endpoint;
  int accepted = 0, disconnected = 0;
};

class AgentTest : public ::testing::Test {
 protected:
  AgentTest() : zap(ctx), sauron(ctx), elrond(ctx) {
    host_key = transport::GenerateKeypair();
    zap.Allow(host_key.public_key, "h1");
    sauron.on_message = [this](const std::string& from, const msg::Envelope& env) {
      if (env.type == msg::HostHello::kType) {
        msg::HostHello h;
        EXPECT_TRUE(msg::DecodeBody(env, &h).ok());
        hellos.push_back(h);
        msg::HostWelcome w;
        w.heartbeat_ms = 50;
        w.labels = {{"zone", "a"}, {"role", "app"}};
        w.keep = keep;
        w.sealed_envs = sealed_envs;
        if (beacon_port > 0) {
          w.beacon_port = beacon_port;
          w.beacon_ms = 20;
          w.beacon_session = 7;
          w.beacon_key = transport::NewBeaconKey();
        }
        sauron.SendTo(from, transport::EncodeReplyWith(env.req_id, w));
        return true;
      }
      if (env.type == msg::ClaimRequest::kType) {
        msg::ClaimRequest c;
        EXPECT_TRUE(msg::DecodeBody(env, &c).ok());
        claims.push_back(c);
        msg::Outcomes outs;
        for (auto& ref : c.claims) {
          outs.results.push_back(msg::Outcome{ref.job_id, ref.attempt, claim_ok, claim_ok ? "" : "revoked",
                                              claim_ok ? sealed_envs[ref.job_id] : ""});
        }
        sauron.SendTo(from, transport::EncodeReplyWith(env.req_id, outs));
        return true;
      }
      if (env.type == msg::JobReports::kType) {
        msg::JobReports b;
        EXPECT_TRUE(msg::DecodeBody(env, &b).ok());
        msg::ReportAcks acks;
        for (auto& r : b.reports) {
          EXPECT_EQ(r.host_id, b.host_id);
          if (report_says_stop) acks.stop.push_back(msg::JobRef{r.job_id, r.attempt});
          reports.push_back(r);
        }
        sauron.SendTo(from, transport::EncodeReplyWith(env.req_id, acks));
        return true;
      }
      if (env.type == msg::Heartbeat::kType)
        sauron.SendTo(from, transport::EncodeReplyWith(env.req_id, msg::HeartbeatAck{beacons_heard}));
      return false;  // heartbeats: recorded
    };
  }
  void SetUp() override {
    AgentOptions o = HostOptions("h1", host_key);
    o.hold_grace_ms = 100;
    o.journal_dir = journal_dir;
    agent = std::make_unique<Agent>(ctx, o, std::make_shared<CapturingFactory>(seen));
    ASSERT_TRUE(agent->Start().ok());
    ASSERT_TRUE(RunUntil([&] { return agent->welcomed() && elrond_hello(); }));
  }
  // Whether elrond has heard `host`'s hello (its ROUTER drops what it sends
  // to an identity it has not heard from yet).
  bool elrond_hello(const std::string& host = "h1") {
    for (auto& r : elrond.got) {
      if (r.env.type == msg::StriderHello::kType && r.from == host) return true;
    }
    return false;
  }
  // A host's options against the fake daemons.
  AgentOptions HostOptions(const std::string& id, const transport::CurveKeypair& key) {
    AgentOptions o;
    o.host_id = id;
    o.key = key;
    o.sauron_api = sauron.endpoint;
    o.sauron_public_key = sauron.key.public_key;
    o.elrond_endpoint = elrond.endpoint;
    o.elrond_public_key = elrond.key.public_key;
    o.data_dir = "/";
    o.capacity = {1000, 1000, 1000};
    return o;
  }
  template <typename P>
  bool RunUntil(P pred, int timeout_ms = 5000) {
    int64_t end = MonotonicMs() + timeout_ms;
    while (!pred() && MonotonicMs() < end) {
      agent->RunOnce(2);
      sauron.Drain();
      elrond.Drain();
    }
    return pred();
  }
  void RunFor(int ms) {
    RunUntil([] { return false; }, ms);
  }
  // Options of another host against the same fake daemons; enrolled unless
  // told otherwise.
  AgentOptions OtherHost(const std::string& id, bool enroll = true) {
    AgentOptions o = HostOptions(id, transport::GenerateKeypair());
    if (enroll) zap.Allow(o.key.public_key, id);
    return o;
  }
  // Runs `other` beside the fixture's agent until `pred` or `ms` pass.
  template <typename P>
  bool RunOther(Agent& other, int ms, P pred) {
    int64_t end = MonotonicMs() + ms;
    while (!pred() && MonotonicMs() < end) {
      other.RunOnce(2);
      agent->RunOnce(0);
      sauron.Drain();
      elrond.Drain();
    }
    return pred();
  }
  template <typename T>
  void Announce(int64_t auction, std::vector<msg::AnnouncedJob> jobs) {
    msg::Announce a{auction, 50, std::move(jobs)};
    elrond.SendTo("h1", msg::Encode(a));
  }
  static msg::AnnouncedJob AJob(const std::string& id, int64_t ram) {
    msg::AnnouncedJob j;
    j.job_id = id;
    j.service = id;
    j.kind = "deploy";
    j.resources = {ram, 10, 10};
    return j;
  }
  static msg::AwardedJob Awarded(const std::string& id, int64_t ram, int64_t attempt = 1) {
    msg::AwardedJob a;
    a.spec.id = id;
    a.spec.service = id;
    a.spec.resources = {ram, 10, 10};
    a.spec.command = {"sim"};
    a.attempt = attempt;
    return a;
  }
  std::vector<msg::Outcome> AckResults() {
    std::vector<msg::Outcome> out;
    for (auto& a : elrond.All<msg::Ack>()) out.insert(out.end(), a.results.begin(), a.results.end());
    return out;
  }

  zmq::context_t ctx;
  transport::ZapAuthenticator zap;
  FakeDaemon sauron, elrond;
  transport::CurveKeypair host_key;
  std::unique_ptr<Agent> agent;
  std::vector<msg::HostHello> hellos;
  std::vector<msg::ClaimRequest> claims;
  std::vector<msg::JobReport> reports;
  bool claim_ok = true;
  bool report_says_stop = false;
  int beacon_port = 0;  // > 0: the welcome asks for beacons there
  bool beacons_heard = false;  // what heartbeat replies say
  std::map<std::string, std::string> sealed_envs;  // job id -> sealed env sent with claims/welcomes
  std::vector<msg::JobRecord> keep;                 // sent in welcomes
  std::string journal_dir;                          // "" = no journal
  std::shared_ptr<SecretsSeen> seen = std::make_shared<SecretsSeen>();
};

TEST(ReportBatch, StartingSupersededInTheSameTurnIsDroppedOtherStatesKept) {
  std::vector<msg::JobReport> r = {{"h", "a", 1, "starting", ""}, {"h", "b", 1, "starting", ""},
                                   {"h", "a", 1, "running", ""},  {"h", "c", 2, "exited", "code 3"},
                                   {"h", "c", 2, "stopped", ""},  {"h", "a", 2, "starting", ""}};
  DropSupersededStarting(&r);
  std::vector<std::string> got;
  for (const auto& x : r) got.push_back(x.job_id + std::to_string(x.attempt) + " " + x.run_state);
  // b's start is not superseded; a's attempt 2 is another attempt; c's exit is kept.
  EXPECT_EQ(got, (std::vector<std::string>{"b1 starting", "a1 running", "c2 exited", "c2 stopped", "a2 starting"}));
}

TEST_F(AgentTest, HelloCarriesConnectionEndpointAndHeartbeatsFollow) {
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].host_id, "h1");
  EXPECT_NE(hellos[0].conn_endpoint.find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(hellos[0].capacity.ram_mb, 1000);
  ASSERT_TRUE(RunUntil([&] { return sauron.All<msg::Heartbeat>().size() >= 3; }));
  auto hb = sauron.All<msg::Heartbeat>();
  EXPECT_EQ(hb[0].host_id, "h1");
  EXPECT_EQ(hb[0].free.ram_mb, 1000);
  EXPECT_LT(hb[0].seq, hb[1].seq);
}

TEST_F(AgentTest, BidsOncePerBatchAndDeclinesWhatBreaksItsRules) {
  auto build = AJob("build-1", 100);
  build.rules.constraints = {{"role", "build"}};
  auto big = AJob("big", 5000);
  Announce<void>(7, {AJob("web-1", 100), build, big});
  ASSERT_TRUE(RunUntil([&] { return !elrond.All<msg::Bid>().empty(); }));
  auto bids = elrond.All<msg::Bid>();
  ASSERT_EQ(bids.size(), 1u);
  EXPECT_EQ(bids[0].auction_id, 7);
  EXPECT_EQ(bids[0].host_id, "h1");
  EXPECT_EQ(bids[0].free.ram_mb, 1000);
  EXPECT_DOUBLE_EQ(bids[0].score, 1.0);
  // "big" does not fit 1000 MB free: the bid's free says so; only the rule is listed.
  ASSERT_EQ(bids[0].declines.size(), 1u);
  EXPECT_EQ(bids[0].declines[0].job_id, "build-1");
}

TEST_F(AgentTest, OpenBidHoldsResourcesAgainstConcurrentAuctions) {
  Announce<void>(1, {AJob("a", 600)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 1; }));
  Announce<void>(2, {AJob("b", 600)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 2; }));
  auto bids = elrond.All<msg::Bid>();
  EXPECT_EQ(bids[1].free.ram_mb, 400);     // b no longer fits while a's bid is open
  RunFor(300);                             // hold expires (2 x 50 + 100 ms)
  Announce<void>(3, {AJob("c", 600)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 3; }));
  EXPECT_EQ(elrond.All<msg::Bid>()[2].free.ram_mb, 1000);
}

// With beacons proving the host alive, heartbeats carry only news.
class QuietHeartbeatTest : public AgentTest {
 protected:
  QuietHeartbeatTest() {
    beacon_port = udp.port;
    beacons_heard = true;
  }
  testing::BeaconPort udp;
};

TEST_F(QuietHeartbeatTest, UnchangedResourcesSendNoHeartbeatAReservationDoes) {
  ASSERT_TRUE(RunUntil([&] { return sauron.All<msg::Heartbeat>().size() >= 1; }));
  RunFor(400);  // 8 heartbeat periods, nothing changes
  EXPECT_EQ(sauron.All<msg::Heartbeat>().size(), 1u);
  EXPECT_GT(udp.Drain(), 0) << "beacons were sent meanwhile";

  Announce<void>(1, {AJob("web-1", 300)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 1; }));
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] {
    auto hb = sauron.All<msg::Heartbeat>();
    return !hb.empty() && hb.back().free.ram_mb == 700;
  }));
}

// Beacons sent but not heard (e.g. UDP filtered on the way): only heartbeats
// prove the host alive, so they keep going.
class UnheardBeaconsTest : public QuietHeartbeatTest {
 protected:
  UnheardBeaconsTest() { beacons_heard = false; }
};

TEST_F(UnheardBeaconsTest, HeartbeatsKeepGoing) {
  ASSERT_TRUE(RunUntil([&] { return sauron.All<msg::Heartbeat>().size() >= 1; }));
  RunFor(400);
  EXPECT_GE(sauron.All<msg::Heartbeat>().size(), 5u);
}

TEST_F(AgentTest, AwardIsClaimedThenStartedThenAcked) {
  Announce<void>(1, {AJob("web-1", 300)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 1; }));
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return !AckResults().empty(); }));
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].claims[0].job_id, "web-1");
  auto acks = AckResults();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].ok);
  EXPECT_EQ(agent->running_jobs(), 1u);
  EXPECT_EQ(agent->Free().ram_mb, 700);
  // The simulated workload is running at once: its "starting" is superseded
  // within the turn and not sent (DropSupersededStarting).
  ASSERT_TRUE(RunUntil([&] { return reports.size() >= 1; }));
  RunFor(50);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].run_state, "running");
  EXPECT_EQ(reports[0].attempt, 1);
}

TEST_F(AgentTest, RefusedClaimNeverStartsAndReleasesReservation) {
  claim_ok = false;
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return !AckResults().empty(); }));
  auto acks = AckResults();
  EXPECT_FALSE(acks[0].ok);
  EXPECT_NE(acks[0].reason.find("claim refused"), std::string::npos);
  EXPECT_EQ(agent->running_jobs(), 0u);
  EXPECT_EQ(agent->Free().ram_mb, 1000);
  RunFor(50);
  EXPECT_TRUE(reports.empty());
}

TEST_F(AgentTest, AwardThatNoLongerFitsIsRefused) {
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("a", 600), Awarded("b", 600)}}));
  ASSERT_TRUE(RunUntil([&] { return AckResults().size() == 2; }));
  auto acks = AckResults();
  int ok = 0;
  for (auto& o : acks) {
    if (o.ok) ++ok;
    else EXPECT_NE(o.reason.find("insufficient"), std::string::npos);
  }
  EXPECT_EQ(ok, 1);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].claims.size(), 1u);  // only the admitted job is claimed
  EXPECT_EQ(agent->counters().Get("award_refused"), 1);
}

TEST_F(AgentTest, HaAwardForServiceAlreadyHereIsRefused) {
  auto a = Awarded("db-1", 100);
  a.spec.service = "db";
  a.spec.rules.ha = true;
  auto b = Awarded("db-2", 100);
  b.spec.service = "db";
  b.spec.rules.ha = true;
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {a, b}}));
  ASSERT_TRUE(RunUntil([&] { return AckResults().size() == 2; }));
  for (auto& o : AckResults()) EXPECT_EQ(o.ok, o.job_id == "db-1") << o.job_id << " " << o.reason;
}

TEST_F(AgentTest, EmptyAwardDropsHoldWithoutAck) {
  Announce<void>(4, {AJob("a", 600)});
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 1; }));
  EXPECT_EQ(agent->Free().ram_mb, 400);
  elrond.SendTo("h1", msg::Encode(msg::Award{4, "h1", {}}));
  ASSERT_TRUE(RunUntil([&] { return agent->Free().ram_mb == 1000; }, 100));
  RunFor(30);
  EXPECT_TRUE(AckResults().empty());
}

TEST_F(AgentTest, HostEnrolledLaterConnectsAfterRefusedHandshakes) {
  AgentOptions o = OtherHost("h2", /*enroll=*/false);
  FakeChangeStream changes(ctx, sauron.key);
  o.sauron_pub = changes.endpoint;
  Agent late(ctx, o, std::make_shared<SimWorkloadFactory>());
  ASSERT_TRUE(late.Start().ok());
  auto run = [&](int ms, auto pred) { return RunOther(late, ms, pred); };
  ASSERT_TRUE(run(3000, [&] { return late.counters().Get("handshake_failed") >= 2; }));
  EXPECT_FALSE(late.welcomed());
  zap.Allow(o.key.public_key, "h2");  // the operator enrolls it now
  ASSERT_TRUE(run(8000, [&] { return late.welcomed(); }));
  ASSERT_TRUE(run(8000, [&] { return elrond_hello("h2"); }));
  // Its change stream, refused along with the links, was re-made at the
  // welcome: sauron's news for this host arrives.
  // Sent again every 200 ms: a PUB drops what it sends before the subscriber
  // has joined. Under a sanitizer several may land, hence >=.
  int64_t sent_ms = 0;
  ASSERT_TRUE(run(8000, [&] {
    if (MonotonicMs() - sent_ms >= 200) {
      changes.HostLost("h2");
      sent_ms = MonotonicMs();
    }
    return late.counters().Get("declared_lost") >= 1;
  }));
}

TEST_F(AgentTest, ChangeStreamIsKeptAcrossWelcomes) {
  FakeChangeStream changes(ctx, sauron.key);
  AgentOptions o = OtherHost("h3");
  o.sauron_pub = changes.endpoint;
  Agent h3(ctx, o, std::make_shared<SimWorkloadFactory>());
  ASSERT_TRUE(h3.Start().ok());
  auto run = [&](int ms, auto pred) { return RunOther(h3, ms, pred); };
  ASSERT_TRUE(run(5000, [&] { return h3.welcomed(); }));
  // Declared lost twice: each time the host says hello again and is welcomed
  // again, and each time the news comes over the same subscription.
  // Each declaration is sent again every 200 ms until it lands (a PUB drops
  // what it sends before the subscriber has joined); under a sanitizer a
  // resent one may land too, hence >=.
  for (int64_t n = 1; n <= 2; ++n) {
    int64_t sent_ms = 0;
    ASSERT_TRUE(run(5000, [&] {
      if (MonotonicMs() - sent_ms >= 200) {
        changes.HostLost("h3");
        sent_ms = MonotonicMs();
      }
      return h3.counters().Get("declared_lost") >= n;
    }));
    ASSERT_TRUE(run(5000, [&] { return h3.welcomed(); }));
  }
  run(100, [] { return false; });
  changes.CountConnections();
  // A re-made subscriber would cost sauron a walk of its whole subscription
  // trie; a welcome must not cause one.
  EXPECT_EQ(changes.accepted, 1);
  EXPECT_EQ(changes.disconnected, 0);
  EXPECT_EQ(h3.counters().Get("handshake_failed"), 0);
}

// The pod-scale simulator ticks a host only when NextTickMs says a timer is
// due, so it must name the earliest of them.
TEST_F(AgentTest, NextTickMsNamesTheEarliestTimer) {
  BeaconPump pump;
  AgentOptions o = OtherHost("h4");
  o.measure_interval_ms = 1000000;
  o.beacon_watchdog_ms = 0;
  o.beacon_pump = &pump;
  o.hold_grace_ms = 100;
  Agent h4(ctx, o, std::make_shared<SimWorkloadFactory>());
  ASSERT_TRUE(h4.Start().ok());
  auto run = [&](int ms, auto pred) { return RunOther(h4, ms, pred); };
  ASSERT_TRUE(run(5000, [&] { return h4.welcomed() && elrond_hello("h4"); }));
  int64_t now = MonotonicMs();
  // Idle and welcomed: the next heartbeat (every 50 ms here) is all.
  EXPECT_GT(h4.NextTickMs(now), now);
  EXPECT_LE(h4.NextTickMs(now), now + 50);
  // A bid holds resources until its hold expires; a sim workload needs no Poll.
  elrond.SendTo("h4", msg::Encode(msg::Announce{5, 50, {AJob("web-5", 100)}}));
  ASSERT_TRUE(run(5000, [&] { return !elrond.All<msg::Bid>().empty(); }));
  now = MonotonicMs();
  int64_t hold_due = h4.NextTickMs(now);
  EXPECT_LE(hold_due, now + 2 * 50 + 100);
  EXPECT_LT(h4.Free().ram_mb, 1000);
  // Ticked only when it says so, it still lets the hold go.
  int64_t end = MonotonicMs() + 2000;
  while (h4.Free().ram_mb != 1000 && MonotonicMs() < end) {
    int64_t t = MonotonicMs();
    if (t >= h4.NextTickMs(t)) h4.Tick(t);
    sauron.Drain();
    elrond.Drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(h4.Free().ram_mb, 1000);
  // A socket re-made moves sockets_version (the owner re-registers it).
  uint64_t v = h4.sockets_version();
  EXPECT_GT(v, 0u);
}

TEST_F(AgentTest, AwardForAnotherHostIsRejectedAndCounted) {
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h2", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return agent->counters().Get("rx.host_mismatch") == 1; }));
  RunFor(50);
  EXPECT_TRUE(claims.empty());
  EXPECT_TRUE(AckResults().empty());
}

TEST_F(AgentTest, MalformedAndUnknownMessagesAreCountedAndSurvived) {
  elrond.SendTo("h1", "\x93\x01\x02");  // truncated msgpack
  elrond.SendTo("h1", msg::Encode(msg::StriderHello{"x"}));  // not for a strider
  msgpack::sbuffer buf;  // an announce whose body has the wrong shape
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(1);
  pk.pack(std::string("auction.announce"));
  pk.pack(0);
  pk.pack_map(1);
  pk.pack(std::string("jobs"));
  pk.pack(std::string("not a list"));
  elrond.SendTo("h1", std::string(buf.data(), buf.size()));
  ASSERT_TRUE(RunUntil([&] {
    return agent->counters().Get("rx.malformed") == 2 && agent->counters().Get("rx.unknown_type") == 1;
  }));
  Announce<void>(9, {AJob("web-1", 100)});  // still bids afterwards
  ASSERT_TRUE(RunUntil([&] { return elrond.All<msg::Bid>().size() == 1; }));
}

TEST_F(AgentTest, ReportAckStopFencesTheJob) {
  report_says_stop = true;
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return !AckResults().empty(); }));
  ASSERT_TRUE(RunUntil([&] { return agent->running_jobs() == 0; }));
  EXPECT_EQ(agent->Free().ram_mb, 1000);
  EXPECT_GE(agent->counters().Get("jobs_stopped"), 1);
}

TEST_F(AgentTest, DuplicateAwardIsAckedWithoutSecondStart) {
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return AckResults().size() == 1; }));
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return AckResults().size() == 2; }));
  EXPECT_TRUE(AckResults()[1].ok);
  EXPECT_EQ(claims.size(), 1u);
  EXPECT_EQ(agent->counters().Get("jobs_started"), 1);
}

TEST_F(AgentTest, SealedEnvFromTheClaimReachesTheWorkload) {
  sealed_envs["web-1"] = *crypto::SealEnv(*crypto::DecodeZ85Key(host_key.public_key), {{"TOKEN", "tok-1"}});
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300), Awarded("plain-1", 100)}}));
  ASSERT_TRUE(RunUntil([&] { return AckResults().size() == 2; }));
  for (const auto& a : AckResults()) EXPECT_TRUE(a.ok) << a.reason;
  EXPECT_EQ(seen->by_job["web-1"].at("TOKEN"), "tok-1");
  EXPECT_TRUE(seen->by_job["plain-1"].empty());
}

TEST_F(AgentTest, EnvSealedToAnotherHostFailsTheJobInsteadOfRunningWithout) {
  auto other = transport::GenerateKeypair();
  sealed_envs["web-1"] = *crypto::SealEnv(*crypto::DecodeZ85Key(other.public_key), {{"TOKEN", "tok-1"}});
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("web-1", 300)}}));
  ASSERT_TRUE(RunUntil([&] { return !AckResults().empty() && !reports.empty(); }));
  EXPECT_FALSE(AckResults()[0].ok);
  EXPECT_EQ(reports[0].run_state, "failed");
  EXPECT_NE(reports[0].detail.find("sealed environment"), std::string::npos);
  EXPECT_EQ(seen->by_job.count("web-1"), 0u);
  EXPECT_EQ(agent->running_jobs(), 0u);
  EXPECT_EQ(agent->Free().ram_mb, 1000);
  EXPECT_EQ(agent->counters().Get("env_open_failed"), 1);
}

TEST_F(AgentTest, KeptJobAfterRestartGetsItsSealedEnvFromTheWelcome) {
  // A restarted strider learns from the welcome what to keep running, and
  // gets each kept job's environment sealed to it there.
  msg::JobRecord rec;
  rec.spec.id = "web-9";
  rec.spec.resources = {100, 10, 10};
  rec.state = "placed";
  rec.attempt = 3;
  rec.host_id = "h1";
  keep = {rec};
  sealed_envs["web-9"] = *crypto::SealEnv(*crypto::DecodeZ85Key(host_key.public_key), {{"DB_PASSWORD", "pw-9"}});
  agent.reset();
  SetUp();
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("web-9") > 0; }));
  EXPECT_EQ(seen->by_job["web-9"].at("DB_PASSWORD"), "pw-9");
}

// Live restore (docs/SCEPTRE.md): a journal in a temp dir, jobs in it.
class AgentRestoreTest : public AgentTest {
 protected:
  void SetUp() override {
    char t[] = "/tmp/rv-agent-journal-XXXXXX";
    root_ = mkdtemp(t);
    journal_dir = root_ + "/journal";
    Journal j(journal_dir);
    ASSERT_TRUE(j.Open().ok());
    journal_ = std::make_unique<Journal>(journal_dir);
  }
  void TearDown() override {
    agent.reset();
    std::filesystem::remove_all(root_);
  }
  void Journaled(const std::string& id, int64_t attempt) {
    JournalEntry e;
    e.spec.id = id;
    e.spec.service = id;
    e.spec.resources = {10, 1, 1};
    e.attempt = attempt;
    ASSERT_TRUE(journal_->Put(e).ok());
  }
  static msg::JobRecord Placed(const std::string& id, int64_t attempt) {
    msg::JobRecord rec;
    rec.spec.id = id;
    rec.spec.service = id;
    rec.spec.resources = {10, 1, 1};
    rec.state = "placed";
    rec.attempt = attempt;
    rec.host_id = "h1";
    return rec;
  }
  std::string root_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(AgentRestoreTest, ARunningContainerIsAdoptedNotRestartedAndListedInTheHello) {
  Journaled("web-1", 2);
  seen->adoptable = {"web-1"};
  keep = {Placed("web-1", 2)};
  AgentTest::SetUp();
  RunFor(100);
  EXPECT_EQ(seen->adopted.count("web-1"), 1u);
  EXPECT_EQ(seen->by_job.count("web-1"), 0u) << "an adopted job must not be started again";
  ASSERT_FALSE(hellos.empty());
  ASSERT_EQ(hellos.back().jobs.size(), 1u);
  EXPECT_EQ(hellos.back().jobs[0].job_id, "web-1");
  EXPECT_EQ(hellos.back().jobs[0].attempt, 2);
  EXPECT_EQ(agent->restore_stats().adopted, 1);
  EXPECT_EQ(agent->running_jobs(), 1u);
}

TEST_F(AgentRestoreTest, AJobStillPlacedHereStartsAgainAfterAReboot) {
  Journaled("db-1", 1);  // its container is gone (reboot)
  keep = {Placed("db-1", 1)};
  AgentTest::SetUp();
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("db-1") > 0; }));
  EXPECT_EQ(agent->restore_stats().restarted, 1);
  EXPECT_EQ(agent->restore_stats().fenced, 0);
}

TEST_F(AgentRestoreTest, AJobSauronMovedElsewhereIsFencedNeverStarted) {
  Journaled("web-2", 1);  // re-placed on another host while this one was down
  Journaled("web-3", 1);  // placed here again, but at a newer attempt
  keep = {Placed("web-3", 2)};
  AgentTest::SetUp();
  RunFor(200);
  EXPECT_EQ(seen->by_job.count("web-2"), 0u);
  EXPECT_EQ(agent->restore_stats().fenced, 2);
  // web-3's new attempt starts through the keep list; web-2 is gone from the journal.
  EXPECT_EQ(seen->by_job.count("web-3"), 1u);
  auto l = journal_->Load();
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].spec.id, "web-3");
  EXPECT_EQ(l.entries[0].attempt, 2);
}

TEST_F(AgentRestoreTest, WithoutSauronTheJournalsJobsStartOnItsWordAfterTheWait) {
  Journaled("db-9", 4);
  AgentOptions o = HostOptions("h1", host_key);
  o.sauron_api = "tcp://127.0.0.1:1";  // nobody answers
  o.journal_dir = journal_dir;
  o.restore_wait_ms = 100;
  agent = std::make_unique<Agent>(ctx, o, std::make_shared<CapturingFactory>(seen));
  ASSERT_TRUE(agent->Start().ok());
  EXPECT_EQ(seen->by_job.count("db-9"), 0u);
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("db-9") > 0; }, 3000));
  EXPECT_EQ(agent->restore_stats().offline, 1);
}

TEST_F(AgentRestoreTest, AStartedJobIsJournaledAndItsEntryGoesWhenItStops) {
  AgentTest::SetUp();
  Announce<int>(1, {AJob("j1", 10)});
  RunFor(50);
  elrond.SendTo("h1", msg::Encode(msg::Award{1, "h1", {Awarded("j1", 10, 5)}}));
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("j1") > 0; }));
  auto l = journal_->Load();
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].attempt, 5);
  agent->Shutdown(1000);
  EXPECT_TRUE(journal_->Load().entries.empty());
}

TEST_F(AgentRestoreTest, AJobStartedAgainAsJournaledLeavesItsEntryAsItIs) {
  Journaled("db-2", 3);
  struct stat before {};
  ASSERT_EQ(stat(journal_->PathOf("db-2").c_str(), &before), 0);
  keep = {Placed("db-2", 3)};
  AgentTest::SetUp();
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("db-2") > 0; }));
  // The entry already said this: not written (nor fsynced) again.
  EXPECT_EQ(agent->counters().Get("journal_unchanged"), 1);
  struct stat after {};
  ASSERT_EQ(stat(journal_->PathOf("db-2").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the entry was replaced";
  auto l = journal_->Load();
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].attempt, 3);
}

TEST_F(AgentRestoreTest, AJobPlacedHereWithAnotherSpecIsJournaledAfresh) {
  Journaled("db-3", 1);
  msg::JobRecord rec = Placed("db-3", 1);
  rec.spec.resources = {20, 1, 1};  // what sauron says wins over the journal
  keep = {rec};
  AgentTest::SetUp();
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("db-3") > 0; }));
  EXPECT_EQ(agent->counters().Get("journal_unchanged"), 0);
  auto l = journal_->Load();
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].spec.resources.ram_mb, 20);
}

TEST_F(AgentRestoreTest, JournaledJobsWaitingForSauronAreNamedSoTheGcSparesThem) {
  Journaled("db-7", 2);
  AgentOptions o = HostOptions("h1", host_key);
  o.sauron_api = "tcp://127.0.0.1:1";  // nobody answers
  o.journal_dir = journal_dir;
  o.restore_wait_ms = 100;
  agent = std::make_unique<Agent>(ctx, o, std::make_shared<CapturingFactory>(seen));
  ASSERT_TRUE(agent->Start().ok());
  EXPECT_EQ(agent->pending_restore_jobs(), std::vector<std::string>{"db-7"});
  ASSERT_TRUE(RunUntil([&] { return seen->by_job.count("db-7") > 0; }, 3000));
  EXPECT_TRUE(agent->pending_restore_jobs().empty());
}

}  // namespace
}  // namespace rv::strider
