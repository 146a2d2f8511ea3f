// Cost of the scheduler's own work at pod scale (no sockets): 1000 hosts,
// 10,000 jobs, every host bidding. Guards against accidental O(jobs^2) or
// per-job sauron round trips; the socket benchmark lives in bench/.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "common/msg/envelope.h"
#include "elrond/auction.h"

namespace rv::elrond {
namespace {

class CountingOutbox : public Outbox {
 public:
  void Multicast(const std::vector<std::string>& hosts, const std::string& bytes, std::vector<char>* reached) override {
    reached->assign(hosts.size(), 1);
    auto env = msg::DecodeEnvelope(bytes);
    msg::Announce a;
    ASSERT_TRUE(msg::DecodeBody(*env, &a).ok());
    announces.push_back({a.auction_id, hosts});
    messages += hosts.size();
  }
  bool Send(const std::string&, const std::string& bytes) override {
    messages++;
    awards_bytes += bytes.size();
    return true;
  }
  std::vector<std::pair<int64_t, std::vector<std::string>>> announces;
  int64_t messages = 0, awards_bytes = 0;
};

class CasRegistry : public Registry {
 public:
  Result<msg::Outcomes> RecordAwards(const msg::AwardRecordRequest& req) override {
    calls++;
    msg::Outcomes out;
    out.results.reserve(req.awards.size());
    for (const auto& a : req.awards) out.results.push_back({a.job_id, a.attempt + 1, true, ""});
    awarded += static_cast<int64_t>(req.awards.size());
    return out;
  }
  Result<msg::Outcomes> Revoke(const msg::RevokeRequest&) override { return msg::Outcomes{}; }
  Status RecordPending(const msg::PendingReasonsRequest&) override { return Status::Ok(); }
  int64_t calls = 0, awarded = 0;
};

void RunScale(int hosts, int jobs, int sample) {
  CountingOutbox out;
  CasRegistry reg;
  Counters counters;
  EngineOptions o;
  o.sample_hosts = sample;
  AuctionEngine engine(o, &out, &reg, &counters);
  int64_t now = 0;
  std::map<std::string, msg::Resources> free;
  for (int i = 0; i < hosts; ++i) {
    msg::HostRecord h;
    h.id = "host-" + std::to_string(i);
    h.state = "up";
    h.capacity = {65536, 1 << 20, 64000};
    h.free = h.capacity;
    free[h.id] = h.free;
    engine.ApplyHost(h, now);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  for (int i = 0; i < jobs; ++i) {
    msg::JobRecord r;
    r.spec.id = "job-" + std::to_string(i);
    r.spec.service = "svc-" + std::to_string(i % 500);
    r.spec.resources = {256 + 64 * (i % 8), 100, 100};
    r.state = "pending";
    engine.ApplyJob(r, now);
  }
  size_t seen = 0;
  for (int round = 0; round < 1000 && reg.awarded < jobs; ++round) {
    now += 2;
    engine.Tick(now);
    for (; seen < out.announces.size(); ++seen) {
      auto [id, hs] = out.announces[seen];
      for (const auto& h : hs) {
        msg::Bid b;
        b.auction_id = id;
        b.host_id = h;
        b.free = free[h];
        b.capacity = {65536, 1 << 20, 64000};
        engine.OnBid(h, b, now);
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("hosts %d jobs %d sample %d: %lld awarded in %lld sauron calls, %zu auctions, %lld messages, "
              "%.3f s wall, %.3f s CPU => %.0f placements per CPU-second\n",
              hosts, jobs, sample, static_cast<long long>(reg.awarded), static_cast<long long>(reg.calls),
              out.announces.size(), static_cast<long long>(out.messages), secs, cpu, reg.awarded / cpu);
  EXPECT_EQ(reg.awarded, jobs);
  EXPECT_LE(reg.calls, jobs / 100) << "awards must be batched";
}

TEST(EngineScale, ThousandHostsTenThousandJobsEveryoneBids) { RunScale(1000, 10000, 0); }
TEST(EngineScale, ThousandHostsTenThousandJobsSampled) { RunScale(1000, 10000, 64); }

}  // namespace
}  // namespace rv::elrond
