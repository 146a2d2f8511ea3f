// The auction engine driven through a fake strider transport, a fake sauron
// (with its compare-and-set rules) and a fake clock.
#include "elrond/auction.h"

#include <gtest/gtest.h>

#include "common/event_kinds.h"
#include "common/msg/envelope.h"
#include "common/msg/overlay.h"

namespace rv::elrond {
namespace {

struct Sent {
  std::string host;
  std::string type;
  std::string bytes;
};

class FakeOutbox : public Outbox {
 public:
  void Multicast(const std::vector<std::string>& hosts, const std::string& bytes, std::vector<char>* reached) override {
    reached->assign(hosts.size(), 0);
    for (size_t i = 0; i < hosts.size(); ++i) (*reached)[i] = Send(hosts[i], bytes) ? 1 : 0;
  }
  bool Send(const std::string& host, const std::string& bytes) override {
    if (down.count(host)) return false;
    auto env = msg::DecodeEnvelope(bytes);
    sent.push_back({host, env.ok() ? env->type : "?", bytes});
    return true;
  }
  // Removes and returns every message of type T (with its host).
  template <typename T>
  std::vector<std::pair<std::string, T>> Take() {
    std::vector<std::pair<std::string, T>> out;
    std::vector<Sent> keep;
    for (auto& s : sent) {
      if (s.type != T::kType) {
        keep.push_back(std::move(s));
        continue;
      }
      auto env = msg::DecodeEnvelope(s.bytes);
      T m;
      EXPECT_TRUE(msg::DecodeBody(*env, &m).ok());
      out.emplace_back(s.host, std::move(m));
    }
    sent = std::move(keep);
    return out;
  }
  std::vector<Sent> sent;
  std::set<std::string> down;
};

// sauron's job table with its CAS rules.
class FakeRegistry : public Registry {
 public:
  Result<msg::Outcomes> RecordAwards(const msg::AwardRecordRequest& req) override {
    award_calls++;
    if (fail_awards) return Status::Unavailable("sauron down");
    msg::Outcomes out;
    for (const auto& a : req.awards) {
      auto& j = jobs[a.job_id];
      bool ok = j.state == "pending" && j.attempt == a.attempt;
      if (ok) {
        j.state = "awarded";
        j.attempt++;
        j.host_id = a.host_id;
      }
      out.results.push_back({a.job_id, j.attempt, ok, ok ? "" : "cas failed"});
    }
    return out;
  }
  Result<msg::Outcomes> Revoke(const msg::RevokeRequest& req) override {
    revoke_calls++;
    msg::Outcomes out;
    for (const auto& r : req.items) {
      auto& j = jobs[r.job_id];
      bool ok = j.state == "awarded" && j.attempt == r.attempt;
      if (ok) {
        j.state = "pending";
        j.host_id.clear();
      }
      out.results.push_back({r.job_id, j.attempt, ok, ok ? "" : "not awarded (" + j.state + ")"});
    }
    return out;
  }
  Status RecordPending(const msg::PendingReasonsRequest& req) override {
    for (const auto& p : req.items) reasons[p.job_id] = p.reason;
    return Status::Ok();
  }
  // A strider's job.claim.
  bool Claim(const std::string& job, const std::string& host, int64_t attempt) {
    auto& j = jobs[job];
    if (j.state != "awarded" || j.host_id != host || j.attempt != attempt) return false;
    j.state = "placed";
    return true;
  }
  std::map<std::string, msg::JobRecord> jobs;
  std::map<std::string, std::string> reasons;
  int award_calls = 0, revoke_calls = 0;
  bool fail_awards = false;
};

class Pod {
 public:
  explicit Pod(EngineOptions o = Defaults()) : engine(o, &out, &reg, &counters) {}
  static EngineOptions Defaults() {
    EngineOptions o;
    o.bid_deadline_ms = 50;
    o.ack_timeout_ms = 1000;
    o.batch_max = 512;
    o.batch_delay_ms = 1;
    o.retry_pending_ms = 2000;
    return o;
  }

  void AddHost(const std::string& id, int64_t ram, const std::string& zone = "", bool drained = false) {
    msg::HostRecord h;
    h.id = id;
    h.state = "up";
    h.capacity = {ram, 100000, 16000};
    h.free = h.capacity;
    h.drained = drained;
    if (!zone.empty()) h.labels["zone"] = zone;
    hosts[id] = h;
    engine.ApplyHost(h, now);
  }
  void Submit(const std::string& id, int64_t ram, const std::string& service = "", bool ha = false) {
    msg::JobRecord r;
    r.spec.id = id;
    r.spec.service = service;
    r.spec.resources = {ram, 10, 10};
    r.spec.rules.ha = ha;
    r.state = "pending";
    reg.jobs[id] = r;
    engine.ApplyJob(r, now);
  }
  // Publishes sauron's current record of `job` on the "change stream".
  void Publish(const std::string& job) { engine.ApplyJob(reg.jobs[job], now); }
  void Tick(int64_t advance = 0) {
    now += advance;
    engine.Tick(now);
  }
  // Each listed host answers every announce it got with its current free.
  std::vector<msg::Announce> Bid(const std::set<std::string>& only = {}) {
    std::vector<msg::Announce> seen;
    for (auto& [host, a] : out.Take<msg::Announce>()) {
      if (!only.empty() && !only.count(host)) {
        unanswered.emplace_back(host, a);
        continue;
      }
      BidFor(host, a);
      seen.push_back(a);
    }
    return seen;
  }
  void BidFor(const std::string& host, const msg::Announce& a) {
    msg::Bid b;
    b.auction_id = a.auction_id;
    b.host_id = host;
    b.free = hosts[host].free;
    b.capacity = hosts[host].capacity;
    engine.OnBid(host, b, now);
  }
  // Striders ack their (non-empty) awards, reserving and claiming.
  std::vector<std::pair<std::string, msg::Award>> Ack(bool ok = true, bool claim = true) {
    auto awards = out.Take<msg::Award>();
    for (auto& [host, aw] : awards) {
      if (aw.jobs.empty()) continue;
      msg::Ack ack;
      ack.host_id = host;
      for (const auto& j : aw.jobs) {
        if (ok) {
          hosts[host].free.ram_mb -= j.spec.resources.ram_mb;
          if (claim) {
            EXPECT_TRUE(reg.Claim(j.spec.id, host, j.attempt));
          }
        }
        ack.results.push_back({j.spec.id, j.attempt, ok, ok ? "" : "no room after all"});
      }
      engine.OnAck(host, ack, now);
      if (ok && claim) for (const auto& j : aw.jobs) Publish(j.spec.id);
    }
    return awards;
  }
  // Runs auctions to completion with every host bidding and acking.
  void Settle(int rounds = 10) {
    for (int i = 0; i < rounds; ++i) {
      Tick(2);
      Bid();
      Ack();
    }
  }

  FakeOutbox out;
  FakeRegistry reg;
  Counters counters;
  AuctionEngine engine;
  int64_t now = 1000;
  std::map<std::string, msg::HostRecord> hosts;
  std::vector<std::pair<std::string, msg::Announce>> unanswered;
};

TEST(Auction, BatchedAnnounceBidsAwardAckClaim) {
  Pod p;
  p.AddHost("h1", 4000);
  p.AddHost("h2", 2000);
  p.AddHost("h3", 8000);
  p.Submit("j1", 1500);
  p.Submit("j2", 1000);
  p.Tick(0);
  EXPECT_TRUE(p.out.sent.empty()) << "flushes after batch_delay_ms, not per job";
  p.Tick(1);
  auto anns = p.out.Take<msg::Announce>();
  ASSERT_EQ(anns.size(), 3u);  // one batch, every live host
  EXPECT_EQ(anns[0].second.jobs.size(), 2u);
  EXPECT_EQ(anns[0].second.deadline_ms, 50);
  for (auto& [h, a] : anns) p.BidFor(h, a);  // last bid closes the auction at once
  EXPECT_EQ(p.reg.award_calls, 1) << "all awards of an auction in one sched.award";
  EXPECT_EQ(p.reg.jobs["j1"].state, "awarded");
  // binpack, biggest first: j1 (1500) -> h2 (tightest), j2 (1000) -> h1 (h2 has 500 left).
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h2");
  EXPECT_EQ(p.reg.jobs["j2"].host_id, "h1");
  auto awards = p.Ack();
  int empty = 0;
  for (auto& [h, aw] : awards) empty += aw.jobs.empty();
  EXPECT_EQ(empty, 1) << "h3 won nothing and is told so";
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
  EXPECT_EQ(p.engine.JobPhase("j2"), "placed");
  EXPECT_EQ(p.counters.Get("ack.ok"), 2);
}

TEST(Auction, SpreadStrategyPicksRoomiestHost) {
  EngineOptions o = Pod::Defaults();
  o.strategy = Strategy::kSpread;
  Pod p(o);
  p.AddHost("h1", 4000);
  p.AddHost("h2", 2000);
  p.AddHost("h3", 8000);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid();
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h3");
}

TEST(Auction, DeadlineClosesWithMissingBidsAndLateBidIsIgnored) {
  Pod p;
  p.AddHost("h1", 4000);
  p.AddHost("h2", 8000);
  p.AddHost("h3", 2000);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid({"h1", "h2"});  // h3 is slow
  EXPECT_EQ(p.reg.award_calls, 0) << "waits for every addressed host";
  p.Tick(49);
  EXPECT_EQ(p.reg.award_calls, 0);
  p.Tick(2);  // deadline passed
  EXPECT_EQ(p.reg.award_calls, 1);
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h1");  // h3 would be tighter but did not bid
  EXPECT_EQ(p.counters.Get("auction.missing_bids"), 1);
  // h3's bid arrives after the close: counted, ignored.
  ASSERT_EQ(p.unanswered.size(), 1u);
  p.out.Take<msg::Award>();
  p.BidFor(p.unanswered[0].first, p.unanswered[0].second);
  EXPECT_EQ(p.counters.Get("bid.late"), 1);
  EXPECT_EQ(p.reg.award_calls, 1);
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h1");
  // h3 is told at once that it won nothing, so it drops the hold it took for
  // this bid instead of bidding less free in the next auctions until it expires.
  auto awards = p.out.Take<msg::Award>();
  ASSERT_EQ(awards.size(), 1u);
  EXPECT_EQ(awards[0].first, "h3");
  EXPECT_EQ(awards[0].second.auction_id, p.unanswered[0].second.auction_id);
  EXPECT_TRUE(awards[0].second.jobs.empty());
}

// A job that found no room because the host with room bid late is retried as
// soon as that bid arrives, not at the periodic retry 2 s later.
TEST(Auction, LateBidFromAHostWithRoomRetriesTheJobAtOnce) {
  Pod p;
  p.AddHost("small", 1000);
  p.AddHost("big", 4000);
  p.Submit("j1", 3000);
  p.Tick(1);
  p.Bid({"small"});  // big is slow
  p.Tick(51);        // closed without big: no bidder has room
  EXPECT_EQ(p.counters.Get("job.unplaceable"), 1);
  ASSERT_EQ(p.unanswered.size(), 1u);
  p.BidFor(p.unanswered[0].first, p.unanswered[0].second);  // big's bid, late
  EXPECT_EQ(p.counters.Get("bid.late"), 1);
  p.unanswered.clear();
  p.Tick(25);  // the retry's debounce, far short of retry_pending_ms
  p.Tick(2);   // the batch opens
  p.Bid();
  p.Tick(1);
  EXPECT_EQ(p.counters.Get("retry.jobs"), 1);
  EXPECT_EQ(p.reg.award_calls, 1);
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "big");
}

TEST(Auction, LateBidsLengthenTheNextDeadlineWithinBoundsAndItDecaysBack) {
  EngineOptions o = Pod::Defaults();
  o.max_bid_deadline_ms = 400;
  Pod p(o);
  p.AddHost("h1", 4000);
  p.AddHost("h2", 8000);
  EXPECT_EQ(p.engine.BidDeadlineMs(), 50);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid({"h1"});                           // h2 is slow: 10 ms for h1, nothing yet for h2
  p.Tick(51);                              // closed at the deadline
  p.now += 69;                             // h2's bid comes 120 ms after the announce
  p.BidFor(p.unanswered[0].first, p.unanswered[0].second);
  EXPECT_EQ(p.counters.Get("bid.late"), 1);
  EXPECT_EQ(p.engine.BidDeadlineMs(), 240) << "twice the slow round trip";
  // The next auction waits that long for h2, and closes at once when all bid.
  p.unanswered.clear();
  p.Submit("j2", 1000);
  p.Tick(2);
  auto anns = p.out.Take<msg::Announce>();
  ASSERT_EQ(anns.size(), 2u);
  EXPECT_EQ(anns[0].second.deadline_ms, 240);
  p.BidFor(anns[0].first, anns[0].second);
  p.Tick(200);
  EXPECT_EQ(p.counters.Get("auction.missing_bids"), 1) << "only the first auction missed a bid";
  p.BidFor(anns[1].first, anns[1].second);
  EXPECT_EQ(p.reg.jobs["j2"].state, "awarded");
  // Capped, and quick bids bring it back down to the floor.
  for (int i = 0; i < 1000; ++i) p.engine.OnBid("h1", msg::Bid{}, p.now);  // rejected: no auction; no effect
  EXPECT_LE(p.engine.BidDeadlineMs(), 400);
  for (int i = 0; i < 200; ++i) {
    p.Submit("k" + std::to_string(i), 1);
    p.Tick(2);
    p.Bid();
    p.Ack();
  }
  EXPECT_EQ(p.engine.BidDeadlineMs(), 50);
}

TEST(Auction, AckTimeoutRevokesAndAwardsToNextBest) {
  Pod p;
  p.AddHost("h1", 2000);
  p.AddHost("h2", 4000);
  p.AddHost("h3", 8000);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid();
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h1");
  EXPECT_EQ(p.reg.jobs["j1"].attempt, 1);
  p.out.Take<msg::Award>();  // h1 never acks
  p.Tick(999);
  EXPECT_EQ(p.reg.revoke_calls, 0);
  p.Tick(2);
  EXPECT_EQ(p.reg.revoke_calls, 1);
  EXPECT_EQ(p.counters.Get("ack.timeout"), 1);
  // Re-awarded straight to the runner-up, no new auction.
  EXPECT_EQ(p.reg.jobs["j1"].state, "awarded");
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h2");
  EXPECT_EQ(p.reg.jobs["j1"].attempt, 2);
  EXPECT_TRUE(p.out.Take<msg::Announce>().empty());
  // h1's ack finally arrives: late, ignored.
  msg::Ack late;
  late.host_id = "h1";
  late.results.push_back({"j1", 1, true, ""});
  p.engine.OnAck("h1", late, p.now);
  EXPECT_EQ(p.counters.Get("ack.stale"), 1);
  auto awards = p.Ack();
  ASSERT_EQ(awards.size(), 1u);
  EXPECT_EQ(awards[0].first, "h2");
  EXPECT_EQ(awards[0].second.jobs[0].attempt, 2);
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
  EXPECT_EQ(p.engine.JobHost("j1"), "h2");
}

TEST(Auction, RefusedAckReauctionsAvoidingTheRefuser) {
  Pod p;
  p.AddHost("h1", 2000);
  p.AddHost("h2", 4000);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid();
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h1");
  p.Ack(/*ok=*/false);
  EXPECT_EQ(p.counters.Get("ack.refused"), 1);
  EXPECT_EQ(p.reg.jobs["j1"].state, "pending");
  EXPECT_EQ(p.engine.JobPhase("j1"), "queued");
  p.Tick(2);
  auto anns = p.Bid();
  EXPECT_EQ(anns.size(), 2u);
  EXPECT_EQ(p.reg.jobs["j1"].host_id, "h2");
  EXPECT_EQ(p.reg.jobs["j1"].attempt, 2);
}

TEST(Auction, DuplicateAndForeignAcksAreRejected) {
  Pod p;
  p.AddHost("h1", 2000);
  p.AddHost("h2", 4000);
  p.Submit("j1", 1500);
  p.Tick(1);
  p.Bid();
  auto awards = p.out.Take<msg::Award>();
  msg::Ack ack;
  ack.host_id = "h1";
  ack.results.push_back({"j1", 1, true, ""});
  p.engine.OnAck("h1", ack, p.now);
  p.engine.OnAck("h1", ack, p.now);
  EXPECT_EQ(p.counters.Get("ack.ok"), 1);
  EXPECT_EQ(p.counters.Get("ack.duplicate"), 1);
  msg::Ack foreign = ack;
  foreign.host_id = "h2";
  p.engine.OnAck("h2", foreign, p.now);
  EXPECT_EQ(p.counters.Get("ack.not_awarded"), 1);
  p.engine.OnAck("h2", ack, p.now);  // claims to be h1
  EXPECT_EQ(p.counters.Get("ack.spoofed"), 1);
  msg::Ack unknown;
  unknown.host_id = "h1";
  unknown.results.push_back({"nope", 1, true, ""});
  p.engine.OnAck("h1", unknown, p.now);
  EXPECT_EQ(p.counters.Get("ack.unknown_job"), 1);
  EXPECT_EQ(p.engine.JobHost("j1"), "h1");
}

TEST(Auction, BadBidsAreRejectedAndCounted) {
  Pod p;
  p.AddHost("h1", 2000);
  p.AddHost("h2", 2000);
  p.Submit("j1", 100);
  p.Tick(1);
  auto anns = p.out.Take<msg::Announce>();
  ASSERT_EQ(anns.size(), 2u);
  msg::Bid b;
  b.auction_id = 999;
  b.host_id = "h1";
  b.free = {2000, 100000, 16000};
  p.engine.OnBid("h1", b, p.now);
  EXPECT_EQ(p.counters.Get("bid.unknown_auction"), 1);
  b.auction_id = anns[0].second.auction_id;
  b.host_id = "h2";
  p.engine.OnBid("h1", b, p.now);  // h1 pretending to be h2
  EXPECT_EQ(p.counters.Get("bid.spoofed"), 1);
  b.host_id = "h1";
  p.engine.OnBid("h1", b, p.now);
  p.engine.OnBid("h1", b, p.now);
  EXPECT_EQ(p.counters.Get("bid.duplicate"), 1);
  b.host_id = "stranger";
  p.engine.OnBid("stranger", b, p.now);
  EXPECT_EQ(p.counters.Get("bid.unknown_host"), 1);
  EXPECT_EQ(p.reg.award_calls, 0);
}

TEST(Auction, LyingBidIsClampedSoTheHostIsNotOverCommitted) {
  Pod p;
  p.AddHost("h1", 4000);
  p.Submit("j1", 3000);
  p.Settle(1);
  EXPECT_EQ(p.engine.JobHost("j1"), "h1");
  // h1 now claims its full capacity free again, twice: clamped to 1000.
  p.hosts["h1"].free.ram_mb = 4000;
  p.Submit("j2", 2000);
  p.Tick(2);
  p.Bid();
  EXPECT_EQ(p.engine.JobPhase("j2"), "unplaceable");
  p.Submit("j3", 2000);
  p.Tick(2);
  p.Bid();
  EXPECT_EQ(p.counters.Get("bid.lying"), 1);
  EXPECT_EQ(p.engine.JobPhase("j3"), "unplaceable");
  EXPECT_EQ(p.engine.host("h1")->free.ram_mb, 1000);
}

TEST(Auction, LedgerStopsOverCommitAcrossAuctionsWithStaleBids) {
  Pod p;
  p.AddHost("h1", 8000);
  p.Submit("a", 6000);
  p.Tick(1);
  p.Bid();
  EXPECT_EQ(p.reg.jobs["a"].host_id, "h1");
  auto award_a = p.out.Take<msg::Award>();  // in flight: h1 has not processed it
  // A second auction whose bid from h1 still shows 8000 free.
  p.Submit("b", 6000);
  p.Tick(2);
  p.Bid();
  EXPECT_EQ(p.reg.jobs["b"].state, "pending");
  EXPECT_EQ(p.engine.JobPhase("b"), "unplaceable");
  p.Tick(0);
  EXPECT_NE(p.reg.reasons["b"].find("1 lacks RAM"), std::string::npos) << p.reg.reasons["b"];
}

TEST(Auction, FourHaReplicasOnThreeHosts) {
  Pod p;
  p.AddHost("h1", 8000);
  p.AddHost("h2", 8000);
  p.AddHost("h3", 8000);
  for (int i = 0; i < 4; ++i) p.Submit("web-" + std::to_string(i), 500, "web", /*ha=*/true);
  p.Settle(3);
  std::set<std::string> hosts;
  int placed = 0;
  std::string pending;
  for (int i = 0; i < 4; ++i) {
    std::string id = "web-" + std::to_string(i);
    if (p.engine.JobPhase(id) == "placed") {
      placed++;
      hosts.insert(p.engine.JobHost(id));
    } else {
      pending = id;
    }
  }
  EXPECT_EQ(placed, 3);
  EXPECT_EQ(hosts.size(), 3u) << "never two replicas on one host";
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(p.engine.JobPhase(pending), "unplaceable");
  EXPECT_EQ(p.reg.reasons[pending], "no host: 3 already run a replica of web (ha)");
  EXPECT_EQ(p.reg.jobs[pending].state, "pending");
}

TEST(Auction, PendingJobRetriedWhenCapacityAppears) {
  Pod p;
  p.AddHost("h1", 1000);
  p.Submit("big", 4000);
  p.Settle(1);
  EXPECT_EQ(p.engine.JobPhase("big"), "unplaceable");
  p.Tick(0);
  EXPECT_NE(p.reg.reasons["big"].find("1 lacks RAM"), std::string::npos) << p.reg.reasons["big"];
  p.AddHost("h2", 8000);  // host.up
  p.Settle(15);
  EXPECT_EQ(p.engine.JobPhase("big"), "placed");
  EXPECT_EQ(p.engine.JobHost("big"), "h2");
}

TEST(Auction, PendingJobRetriedPeriodically) {
  Pod p;
  p.AddHost("h1", 1000);
  p.Submit("big", 2000);
  p.Settle(1);
  EXPECT_EQ(p.engine.JobPhase("big"), "unplaceable");
  p.hosts["h1"].free.ram_mb = 1000;
  p.hosts["h1"].capacity.ram_mb = 4000;  // e.g. the strider was given more memory
  p.hosts["h1"].free.ram_mb = 4000;
  p.engine.ApplyHost(p.hosts["h1"], p.now);
  p.now += 2000;
  p.Settle(5);
  EXPECT_EQ(p.engine.JobPhase("big"), "placed");
}

TEST(Auction, DrainedAndConstrainedHosts) {
  Pod p;
  p.AddHost("h1", 8000, "", /*drained=*/true);
  p.AddHost("h2", 8000);
  msg::HostRecord b = p.hosts["h2"];
  b.id = "b1";
  b.labels["role"] = "build";
  p.hosts["b1"] = b;
  p.engine.ApplyHost(b, p.now);
  p.Submit("j1", 100);
  msg::JobRecord build;
  build.spec.id = "build1";
  build.spec.kind = "build";
  build.spec.resources = {100, 10, 10};
  build.spec.rules.constraints["role"] = "build";
  build.state = "pending";
  p.reg.jobs["build1"] = build;
  p.engine.ApplyJob(build, p.now);
  p.Tick(1);
  auto anns = p.Bid();
  EXPECT_EQ(anns.size(), 2u) << "the drained host is not even asked";
  EXPECT_EQ(p.reg.jobs["build1"].host_id, "b1");
  EXPECT_NE(p.reg.jobs["j1"].host_id, "h1");
}

TEST(Auction, RestartFindsAwardedJobsAndRevokesThemAfterTimeout) {
  Pod p;
  p.AddHost("h1", 8000);
  p.AddHost("h2", 8000);
  // What a previous elrond left behind in sauron.
  msg::Snapshot snap;
  snap.seq = 42;
  snap.hosts = {p.hosts["h1"], p.hosts["h2"]};
  for (const char* id : {"claimed", "orphan"}) {
    msg::JobRecord r;
    r.spec.id = id;
    r.spec.resources = {1000, 10, 10};
    r.state = "awarded";
    r.attempt = 3;
    r.host_id = "h1";
    p.reg.jobs[id] = r;
    snap.jobs.push_back(r);
  }
  p.engine.ApplySnapshot(snap, p.now);
  EXPECT_EQ(p.engine.JobPhase("orphan"), "orphan");
  EXPECT_EQ(p.engine.ledger().Committed("h1").ram_mb, 2000) << "orphans hold their host's resources";
  // The strider claims one of them in the meantime.
  ASSERT_TRUE(p.reg.Claim("claimed", "h1", 3));
  p.Publish("claimed");
  EXPECT_EQ(p.engine.JobPhase("claimed"), "placed");
  p.Tick(999);
  EXPECT_EQ(p.reg.revoke_calls, 0);
  p.Tick(2);
  EXPECT_EQ(p.reg.revoke_calls, 1);
  EXPECT_EQ(p.reg.jobs["orphan"].state, "pending");
  EXPECT_EQ(p.reg.jobs["claimed"].state, "placed");
  p.Settle(2);
  EXPECT_EQ(p.engine.JobPhase("orphan"), "placed");
  EXPECT_EQ(p.reg.jobs["orphan"].attempt, 4);
  EXPECT_EQ(p.reg.jobs["claimed"].attempt, 3);
}

TEST(Auction, RevokeLosingToAClaimIsFine) {
  Pod p;
  p.AddHost("h1", 8000);
  p.Submit("j1", 1000);
  p.Tick(1);
  p.Bid();
  auto awards = p.out.Take<msg::Award>();
  ASSERT_EQ(awards.size(), 1u);
  // The strider claims it but its ack is lost.
  ASSERT_TRUE(p.reg.Claim("j1", "h1", 1));
  p.Tick(1001);
  EXPECT_EQ(p.reg.revoke_calls, 1);
  EXPECT_EQ(p.counters.Get("revoke.lost_race"), 1);
  EXPECT_EQ(p.reg.jobs["j1"].state, "placed");
  p.Publish("j1");
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
  p.Settle(3);
  EXPECT_EQ(p.reg.award_calls, 1) << "placed exactly once";
}

TEST(Auction, FailedAwardRecordAsksForResync) {
  Pod p;
  p.AddHost("h1", 8000);
  p.Submit("j1", 1000);
  p.reg.fail_awards = true;
  p.Tick(1);
  p.Bid();
  EXPECT_TRUE(p.engine.needs_resync());
  EXPECT_EQ(p.engine.JobPhase("j1"), "uncertain");
  EXPECT_TRUE(p.out.Take<msg::Award>().size() <= 1u);  // at most h1's empty award
  p.reg.fail_awards = false;
  msg::Snapshot snap;
  snap.hosts = {p.hosts["h1"]};
  snap.jobs = {p.reg.jobs["j1"]};
  p.engine.ApplySnapshot(snap, p.now);
  EXPECT_FALSE(p.engine.needs_resync());
  p.Settle(2);
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
}

TEST(Auction, LostHostsJobsComeBackAndArePlacedElsewhere) {
  Pod p;
  p.AddHost("h1", 8000);
  p.AddHost("h2", 8000);
  p.Submit("j1", 1000);
  p.Settle(1);
  std::string first = p.engine.JobHost("j1");
  std::string other = first == "h1" ? "h2" : "h1";
  // sauron marks the host lost and hands the job back.
  p.hosts[first].state = "lost";
  p.engine.ApplyHost(p.hosts[first], p.now);
  auto& r = p.reg.jobs["j1"];
  r.state = "pending";
  r.host_id.clear();
  p.Publish("j1");
  p.Settle(2);
  EXPECT_EQ(p.engine.JobHost("j1"), other);
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
}

TEST(Auction, StaleChangeEventsNeverMoveAJobBackwards) {
  Pod p;
  p.AddHost("h1", 8000);
  p.Submit("j1", 1000);
  msg::JobRecord old = p.reg.jobs["j1"];  // pending, attempt 0
  p.Settle(1);
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
  p.engine.ApplyJob(old, p.now);  // a late copy of the submit event
  EXPECT_EQ(p.engine.JobPhase("j1"), "placed");
  msg::JobRecord stopped = p.reg.jobs["j1"];
  stopped.state = "stopped";
  p.engine.ApplyJob(stopped, p.now);
  EXPECT_EQ(p.engine.JobPhase("j1"), "");
  EXPECT_EQ(p.engine.ledger().Committed("h1").ram_mb, 0);
}

TEST(Auction, SampledAuctionsUseDisjointHostsConcurrently) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 4;
  o.sample_random = 1;
  o.batch_max = 4;
  Pod p(o);
  for (int i = 0; i < 40; ++i) p.AddHost("h" + std::to_string(i), 8000);
  for (int i = 0; i < 12; ++i) p.Submit("j" + std::to_string(i), 1000);
  p.Tick(1);
  auto anns = p.out.Take<msg::Announce>();
  std::map<int64_t, std::set<std::string>> by_auction;
  std::map<std::string, int> per_host;
  for (auto& [h, a] : anns) {
    by_auction[a.auction_id].insert(h);
    per_host[h]++;
  }
  EXPECT_EQ(by_auction.size(), 3u) << "three auctions in flight at once";
  for (auto& [id, hosts] : by_auction) EXPECT_EQ(hosts.size(), 5u);  // 4 chosen + 1 random
  for (auto& [h, n] : per_host) EXPECT_EQ(n, 1) << h << " is in two open auctions";
  for (auto& [h, a] : anns) p.BidFor(h, a);
  p.Ack();
  p.Settle(3);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(p.engine.JobPhase("j" + std::to_string(i)), "placed");
}

TEST(Auction, PartitionedAuctionOffersEachJobToAFewHostsAndPlacesAll) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 8;
  o.sample_random = 2;
  o.offers_per_job = 2;
  Pod p(o);
  for (int i = 0; i < 40; ++i) p.AddHost("h" + std::to_string(i), 4000);  // 4 jobs each
  for (int i = 0; i < 16; ++i) p.Submit("j" + std::to_string(i), 1000);
  p.Tick(1);
  auto anns = p.out.Take<msg::Announce>();
  ASSERT_FALSE(anns.empty());
  std::map<std::string, int> offers;
  size_t total = 0;
  for (auto& [h, a] : anns) {
    EXPECT_LE(a.jobs.size(), 8u) << h << ": its 4 and its neighbour's, not the whole batch";
    for (auto& j : a.jobs) offers[j.job_id]++;
    total += a.jobs.size();
  }
  ASSERT_EQ(offers.size(), 16u);
  for (auto& [j, n] : offers) EXPECT_GE(n, 2) << j;
  EXPECT_LE(total, 2 * 16 + anns.size()) << "2 offers a job, plus one for each host that had none";
  for (auto& [h, a] : anns) p.BidFor(h, a);
  p.Ack();
  p.Settle(3);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(p.engine.JobPhase("j" + std::to_string(i)), "placed");
  EXPECT_EQ(p.counters.Get("auction.partitioned"), 1);
}

TEST(Auction, PartitionedAuctionGivesHaReplicasDistinctPrimaries) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 4;
  o.sample_random = 0;
  o.offers_per_job = 1;  // the primary only: HA must come from the partition itself
  Pod p(o);
  for (int i = 0; i < 10; ++i) p.AddHost("h" + std::to_string(i), 8000);
  for (int i = 0; i < 3; ++i) p.Submit("db-" + std::to_string(i), 1000, "db", true);
  p.Settle(3);
  std::set<std::string> on;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(p.engine.JobPhase("db-" + std::to_string(i)), "placed");
    on.insert(p.engine.JobHost("db-" + std::to_string(i)));
  }
  EXPECT_EQ(on.size(), 3u);
}

TEST(Auction, PartitionedJobGoesToAnotherBidderWhenItsHostsAreFull) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 4;
  o.sample_random = 0;
  o.offers_per_job = 2;
  Pod p(o);
  for (int i = 0; i < 10; ++i) p.AddHost("h" + std::to_string(i), 8000);
  p.Submit("a", 1000);
  p.Submit("b", 600);
  p.Tick(1);
  auto anns = p.out.Take<msg::Announce>();
  // Binpack: both go to the first host (its view has room) with the next as
  // stand-in; the other two sampled hosts are offered the smallest job, b.
  ASSERT_EQ(anns.size(), 4u);
  // Every host offered "a" turns out to be nearly full.
  for (auto& [h, a] : anns) {
    for (auto& j : a.jobs) {
      if (j.job_id == "a") p.hosts[h].free.ram_mb = 500;
    }
  }
  for (auto& [h, a] : anns) p.BidFor(h, a);
  p.Ack();
  p.Settle(2);
  EXPECT_EQ(p.engine.JobPhase("a"), "placed");
  EXPECT_EQ(p.engine.JobPhase("b"), "placed");
  EXPECT_GE(p.counters.Get("auction.offer_widened"), 1);
  EXPECT_EQ(p.counters.Get("auction.resampled"), 0);
}

TEST(Auction, SampledFailureRetriesWithEveryHost) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 2;
  o.sample_random = 0;
  Pod p(o);
  for (int i = 0; i < 10; ++i) p.AddHost("h" + std::to_string(i), 1000);
  // The view says every host has 1000 free; only h9 really does. Sampling
  // (binpack, by id on ties) picks h0 and h1 first.
  for (int i = 0; i < 9; ++i) p.hosts["h" + std::to_string(i)].free.ram_mb = 100;
  p.Submit("j", 800);
  p.Settle(4);
  EXPECT_EQ(p.engine.JobPhase("j"), "placed");
  EXPECT_EQ(p.engine.JobHost("j"), "h9");
}

TEST(Auction, SilentSampleIsResampledBeforeAskingEveryHost) {
  EngineOptions o = Pod::Defaults();
  o.sample_hosts = 2;
  o.sample_random = 0;
  Pod p(o);
  for (int i = 0; i < 10; ++i) p.AddHost("h" + std::to_string(i), 8000);
  p.Submit("j", 800);
  p.Tick(1);
  std::set<std::string> first;
  for (auto& [h, a] : p.out.Take<msg::Announce>()) first.insert(h);
  ASSERT_EQ(first.size(), 2u);
  p.Tick(o.bid_deadline_ms + 1);  // nobody in the sample answers
  p.Tick(1);
  auto second = p.out.Take<msg::Announce>();
  ASSERT_EQ(second.size(), 2u) << "a new sample, not a broadcast to all 10";
  for (auto& [h, a] : second) EXPECT_FALSE(first.count(h)) << h << " was silent: it goes last";
  for (auto& [h, a] : second) p.BidFor(h, a);
  p.Ack();
  p.Settle(3);
  EXPECT_EQ(p.engine.JobPhase("j"), "placed");
  EXPECT_EQ(p.counters.Get("auction.resampled"), 1);
}

TEST(Auction, UnreachableHostsAreNotWaitedFor) {
  Pod p;
  p.AddHost("h1", 8000);
  p.AddHost("h2", 8000);
  p.out.down.insert("h2");
  p.Submit("j1", 1000);
  p.Tick(1);
  p.Bid();
  EXPECT_EQ(p.reg.award_calls, 1) << "closed as soon as h1 (the only reached host) bid";
  EXPECT_EQ(p.counters.Get("announce.unreached"), 1);
}

// The env's AEAD set (snapshot, then sauron's overlay.aead events) goes out
// with its container jobs, so hosts without AES-NI can decline.
TEST(Auction, AnnouncedContainerJobsCarryTheirEnvironmentsAead) {
  Pod p;
  p.AddHost("h1", 4000);
  msg::Snapshot snap;
  snap.env_aeads["acme/prod"] = "aes256gcm";
  snap.hosts.push_back(p.hosts["h1"]);
  p.engine.ApplySnapshot(snap, p.now);
  auto submit = [&](const std::string& id, const std::string& env, const std::string& image) {
    msg::JobRecord r;
    r.spec.id = id;
    r.spec.env = env;
    r.spec.image = image;
    r.spec.resources = {10, 10, 10};
    r.state = "pending";
    p.reg.jobs[id] = r;
    p.engine.ApplyJob(r, p.now);
  };
  submit("c1", "acme/prod", "stack/busybox:latest");
  submit("c2", "acme/new", "stack/busybox:latest");   // no network yet
  submit("p1", "acme/prod", "");                      // a process: no overlay
  p.Tick(2);
  auto anns = p.out.Take<msg::Announce>();
  ASSERT_EQ(anns.size(), 1u);
  std::map<std::string, msg::AnnouncedJob> by;
  for (auto& j : anns[0].second.jobs) by[j.job_id] = j;
  EXPECT_TRUE(by["c1"].needs_aesni);
  EXPECT_EQ(by["c1"].env, "acme/prod");
  EXPECT_EQ(by["c1"].env_aead, "aes256gcm");
  EXPECT_FALSE(by["c2"].needs_aesni);
  EXPECT_FALSE(by["p1"].needs_aesni);

  // A rotation to ChaCha20 (old epoch still held), then the old epoch dropped.
  auto aead_event = [&](const std::string& detail) {
    msg::Change c;
    c.event.kind = event_kind::kOverlayAead;
    c.event.detail = detail;
    p.engine.ApplyChange(c, p.now);
  };
  aead_event("acme/prod=aes256gcm,chacha20poly1305");
  aead_event("bad-detail-without-equals");
  EXPECT_EQ(p.counters.Get("change.malformed"), 1);
  p.engine.ApplyJob(p.reg.jobs["c1"], p.now);
  p.Tick(3000);  // the first auction closed without bids; c1 is re-announced
  for (auto& [h, a] : p.out.Take<msg::Announce>()) {
    for (auto& j : a.jobs) {
      if (j.job_id == "c1") {
        EXPECT_TRUE(j.needs_aesni) << "an AES-GCM epoch is still held";
      }
    }
  }
  aead_event("acme/prod=chacha20poly1305");
  submit("c3", "acme/prod", "stack/busybox:latest");
  p.Tick(3000);
  bool seen = false;
  for (auto& [h, a] : p.out.Take<msg::Announce>()) {
    for (auto& j : a.jobs) {
      if (j.job_id == "c3") {
        seen = true;
        EXPECT_FALSE(j.needs_aesni);
        EXPECT_EQ(j.env_aead, "chacha20poly1305");
      }
    }
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace rv::elrond
