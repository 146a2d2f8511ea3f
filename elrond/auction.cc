#include "elrond/auction.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

#include "common/event_kinds.h"
#include "common/states.h"
#include "common/msg/envelope.h"
#include "common/msg/overlay.h"
#include "elrond/batch_decision.h"
#include "elrond/sampling.h"

namespace rv::elrond {
namespace {

// Order of a job's states within one attempt: a record moves a job only if
// (attempt, rank) grows, so stale change events and replies that cross on
// different sockets can never move a job backwards.
int Rank(const std::string& state) {
  if (state == job_state::kAwarded) return 1;
  if (state == job_state::kPlaced) return 2;
  if (state == job_state::kPending) return 3;  // same attempt: revoked, or its host was lost
  return 0;
}

constexpr size_t kMaxLatencySamples = 1 << 20;
constexpr size_t kMaxPendingPerRequest = 5000;
constexpr int64_t kSlowHostMs = 2000;
constexpr int kMaxSampleMisses = 3;

}  // namespace

EngineOptions OptionsFromConfig(const ElrondConfig& cfg) {
  EngineOptions o;
  o.bid_deadline_ms = cfg.bid_deadline_ms;
  o.max_bid_deadline_ms = cfg.max_bid_deadline_ms;
  o.ack_timeout_ms = cfg.ack_timeout_ms;
  o.batch_max = cfg.batch_max;
  o.sample_hosts = cfg.sample_hosts;
  o.offers_per_job = cfg.offers_per_job;
  o.retry_pending_ms = cfg.retry_pending_ms > 0 ? cfg.retry_pending_ms : 2000;
  o.strategy = ParseStrategy(cfg.strategy, Strategy::kBinpack);
  return o;
}

AuctionEngine::AuctionEngine(EngineOptions opts, Outbox* outbox, Registry* registry, Counters* counters)
    : opts_(opts), outbox_(outbox), registry_(registry), counters_(counters), rng_(opts.seed) {
  if (opts_.batch_max <= 0) opts_.batch_max = 1;
  if (opts_.bid_deadline_ms <= 0) opts_.bid_deadline_ms = 1;
  if (opts_.max_bid_deadline_ms < opts_.bid_deadline_ms) opts_.max_bid_deadline_ms = opts_.bid_deadline_ms;
  if (opts_.ack_timeout_ms <= 0) opts_.ack_timeout_ms = 1;
}

void AuctionEngine::Reject(const char* counter, const std::string& what) {
  counters_->Add(counter);
  int64_t n = counters_->Get(counter);
  // Hostile peers can send floods; the counter is exact, the log is sampled.
  if (n <= 20 || n % 1000 == 0) spdlog::warn("rejected ({}, #{}): {}", counter, n, what);
}

AuctionEngine::Job* AuctionEngine::FindJob(const std::string& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

void AuctionEngine::ObserveBidLatency(double ms) {
  if (ms < 0) return;
  // Up at once (the pod is slow now), down slowly (one quick bid does not
  // mean the next hundred will be).
  slow_bid_ms_ = ms > slow_bid_ms_ ? ms : slow_bid_ms_ * 0.98 + ms * 0.02;
}

int AuctionEngine::BidDeadlineMs() const {
  double want = 2.0 * slow_bid_ms_;
  if (want < opts_.bid_deadline_ms) return opts_.bid_deadline_ms;
  if (want > opts_.max_bid_deadline_ms) return opts_.max_bid_deadline_ms;
  return static_cast<int>(want);
}

void AuctionEngine::RefreshView(Host& h) {
  h.view.free = ledger_.EffectiveFree(h.view.id);
  h.view.capacity = ledger_.Capacity(h.view.id);
}

void AuctionEngine::Assign(const std::string& job_id, Job& job, const std::string& host, int64_t reflected_from) {
  if (host.empty()) return;
  if (job.host == host) {
    ledger_.Commit(host, job_id, job.spec.resources, reflected_from);
  } else {
    if (!job.host.empty()) Unassign(job_id, job, 0);
    job.host = host;
    Host& h = hosts_[host];
    if (h.view.id.empty()) h.view.id = host;  // a host sauron no longer lists: down
    if (!job.spec.service.empty()) {
      h.view.services[job.spec.service]++;
      zones_.Add(job.spec.service, h.view.zone, 1);
    }
    ledger_.Commit(host, job_id, job.spec.resources, reflected_from);
  }
  RefreshView(hosts_[host]);
}

void AuctionEngine::Unassign(const std::string& job_id, Job& job, int64_t now_ms) {
  if (job.host.empty()) return;
  auto it = hosts_.find(job.host);
  if (it != hosts_.end()) {
    Host& h = it->second;
    if (!job.spec.service.empty()) {
      auto s = h.view.services.find(job.spec.service);
      if (s != h.view.services.end() && --s->second <= 0) h.view.services.erase(s);
      zones_.Add(job.spec.service, h.view.zone, -1);
    }
    ledger_.Release(job.host, job_id, now_ms);
    RefreshView(h);
  }
  job.host.clear();
}

void AuctionEngine::Enqueue(const std::string& job_id, Job& job, int64_t now_ms) {
  job.phase = Phase::kQueued;
  job.auction_id = 0;
  job.acked = false;
  job.fallbacks.clear();
  job.queued_ms = now_ms;
  unplaceable_.erase(job_id);
  queue_.push_back(job_id);
}

void AuctionEngine::SetUnplaceable(const std::string& job_id, Job& job, const std::string& reason,
                                   int64_t now_ms) {
  if (unplaceable_.empty() && next_periodic_retry_ms_ < now_ms + opts_.retry_pending_ms) {
    next_periodic_retry_ms_ = now_ms + opts_.retry_pending_ms;
  }
  job.phase = Phase::kUnplaceable;
  job.auction_id = 0;
  job.avoid.clear();
  job.full_announce = false;
  job.sample_misses = 0;
  unplaceable_.insert(job_id);
  counters_->Add("job.unplaceable");
  if (reason != job.reason) {
    job.reason = reason;
    pending_reasons_[job_id] = reason;
    spdlog::info("job {} stays pending: {}", job_id, reason);
  }
}

void AuctionEngine::SendNothingWon(const std::string& host, int64_t auction_id) {
  msg::Award empty;
  empty.auction_id = auction_id;
  empty.host_id = host;
  outbox_->Send(host, msg::Encode(empty));
}

bool AuctionEngine::RoomForAnUnplaceable(const msg::Resources& free) const {
  for (const auto& id : unplaceable_) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    const msg::Resources& r = it->second.spec.resources;
    if (r.ram_mb <= free.ram_mb && r.disk_mb <= free.disk_mb && r.cpu_millis <= free.cpu_millis) return true;
  }
  return false;
}

void AuctionEngine::TriggerRetry(int64_t now_ms) {
  if (unplaceable_.empty()) return;
  int64_t due = now_ms + opts_.retry_debounce_ms;
  if (retry_due_ms_ == 0 || due < retry_due_ms_) retry_due_ms_ = due;
}

void AuctionEngine::RemoveJob(const std::string& job_id, int64_t now_ms) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  bool freed = !it->second.host.empty();
  Unassign(job_id, it->second, now_ms);
  unplaceable_.erase(job_id);
  pending_reasons_.erase(job_id);
  jobs_.erase(it);
  if (freed) TriggerRetry(now_ms);
}

// Makes `job` what `rec` says. The caller decided that rec is newer.
void AuctionEngine::AdoptRecord(const msg::JobRecord& rec, Job& job, int64_t now_ms, bool from_snapshot) {
  const std::string& id = rec.spec.id;
  // The spec of a job never changes in sauron; adopting it also fills new jobs.
  job.spec = rec.spec;
  job.state = rec.state;
  job.attempt = rec.attempt;
  if (rec.state == job_state::kPending) {
    bool had_host = !job.host.empty();
    Unassign(id, job, now_ms);
    if (job.phase != Phase::kQueued && job.phase != Phase::kAnnounced && job.phase != Phase::kUnplaceable) {
      Enqueue(id, job, now_ms);
    } else if (job.phase == Phase::kUnplaceable) {
      TriggerRetry(now_ms);
    }
    if (!rec.reason.empty()) job.reason = rec.reason;
    if (had_host) TriggerRetry(now_ms);
  } else if (rec.state == job_state::kAwarded) {
    // An award this engine did not make (a previous elrond's, or one whose reply
    // was lost): give its host ack_timeout to claim it, then revoke.
    Assign(id, job, rec.host_id, Ledger::kUnreflected);
    job.phase = Phase::kOrphan;
    job.acked = false;
    job.deadline_ms = now_ms + opts_.ack_timeout_ms;
    timers_.emplace(job.deadline_ms, id);
    unplaceable_.erase(id);
    counters_->Add("job.orphan_award");
  } else if (rec.state == job_state::kPlaced) {
    if (job.host == rec.host_id) {
      ledger_.SetReflectedFrom(rec.host_id, id, from_snapshot ? 0 : next_auction_id_);
      auto h = hosts_.find(rec.host_id);
      if (h != hosts_.end()) RefreshView(h->second);
    } else {
      Assign(id, job, rec.host_id, from_snapshot ? 0 : next_auction_id_);
    }
    job.phase = Phase::kPlaced;
    unplaceable_.erase(id);
  }
}

void AuctionEngine::ApplyJob(const msg::JobRecord& rec, int64_t now_ms) {
  const std::string& id = rec.spec.id;
  if (id.empty()) {
    Reject("change.bad_job", "job record without an id");
    return;
  }
  if (rec.state == job_state::kStopped) {
    RemoveJob(id, now_ms);
    return;
  }
  if (Rank(rec.state) == 0) {
    Reject("change.bad_job", "job " + id + " in unknown state '" + rec.state + "'");
    return;
  }
  if ((rec.state == job_state::kAwarded || rec.state == job_state::kPlaced) && rec.host_id.empty()) {
    Reject("change.bad_job", "job " + id + " is " + rec.state + " without a host");
    return;
  }
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    Job& job = jobs_[id];
    job.phase = Phase::kUncertain;  // so AdoptRecord enqueues a pending one
    AdoptRecord(rec, job, now_ms, false);
    return;
  }
  Job& job = it->second;
  if (job.phase != Phase::kUncertain &&
      std::make_tuple(rec.attempt, Rank(rec.state)) <= std::make_tuple(job.attempt, Rank(job.state))) {
    return;  // our own award echoed back, or a stale event
  }
  AdoptRecord(rec, job, now_ms, false);
}

void AuctionEngine::ApplyHost(const msg::HostRecord& rec, int64_t now_ms) {
  if (rec.id.empty()) {
    Reject("change.bad_host", "host record without an id");
    return;
  }
  Host& h = hosts_[rec.id];
  h.view.id = rec.id;
  std::string zone;
  if (auto z = rec.labels.find("zone"); z != rec.labels.end()) zone = z->second;
  if (zone != h.view.zone) {
    for (const auto& [svc, n] : h.view.services) {
      zones_.Add(svc, h.view.zone, -n);
      zones_.Add(svc, zone, n);
    }
    h.view.zone = zone;
  }
  h.view.labels = rec.labels;
  bool was_up = h.view.up, was_drained = h.view.drained;
  h.view.up = rec.state == host_state::kUp;
  h.view.drained = rec.drained;
  h.max_capacity = rec.max_capacity;
  msg::Resources before = ledger_.EffectiveFree(rec.id);
  ledger_.SetHost(rec.id, rec.capacity, rec.max_capacity);
  ledger_.SetReportedFree(rec.id, rec.free);
  RefreshView(h);
  if (!rec.public_key.empty() && rec.public_key != h.public_key) {
    if (on_host_key_ && !h.public_key.empty()) on_host_key_(rec.id, h.public_key, false);
    h.public_key = rec.public_key;
    if (on_host_key_) on_host_key_(rec.id, h.public_key, true);
  }
  if (h.view.up && (!was_up || (was_drained && !h.view.drained))) {
    h.reachable = true;
    TriggerRetry(now_ms);
  } else if (h.view.up && h.view.free.ram_mb > before.ram_mb) {
    TriggerRetry(now_ms);
  }
  if (!h.view.up && was_up) HostGone(rec.id, now_ms);
}

void AuctionEngine::HostGone(const std::string& host_id, int64_t /*now_ms*/) {
  // A host that is lost will not bid: stop waiting for it. Its awards are
  // revoked by sauron (host lost) and come back as pending jobs.
  for (auto& [id, a] : open_) {
    auto p = a.hosts.find(host_id);
    if (p != a.hosts.end() && !p->second.answered) a.hosts.erase(p);
  }
  auto h = hosts_.find(host_id);
  if (h != hosts_.end()) h->second.busy_auction = 0;
  queue_blocked_ = false;
}

void AuctionEngine::ApplyChange(const msg::Change& change, int64_t now_ms) {
  if (change.host) ApplyHost(*change.host, now_ms);
  if (change.job) ApplyJob(*change.job, now_ms);
  if (change.event.kind == event_kind::kOverlayAead) {
    // detail: "<env>=<aeads>"; env names may hold '=', AEAD names never do.
    const std::string& d = change.event.detail;
    size_t eq = d.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      counters_->Add("change.malformed");
      return;
    }
    if (eq + 1 == d.size()) {
      env_aeads_.erase(d.substr(0, eq));
    } else {
      env_aeads_[d.substr(0, eq)] = d.substr(eq + 1);
    }
  }
}

void AuctionEngine::ApplySnapshot(const msg::Snapshot& snap, int64_t now_ms) {
  needs_resync_ = false;
  env_aeads_ = snap.env_aeads;
  std::set<std::string> seen_hosts;
  for (const auto& rec : snap.hosts) {
    if (rec.id.empty()) continue;
    ApplyHost(rec, now_ms);
    seen_hosts.insert(rec.id);
  }
  std::vector<std::string> gone;
  for (const auto& [id, h] : hosts_) {
    if (!seen_hosts.count(id)) gone.push_back(id);
  }
  for (const auto& id : gone) {
    Host& h = hosts_[id];
    if (h.view.up) {
      h.view.up = false;
      HostGone(id, now_ms);
    }
    if (on_host_key_ && !h.public_key.empty()) on_host_key_(id, h.public_key, false);
    h.public_key.clear();
  }
  std::set<std::string> seen_jobs;
  for (const auto& rec : snap.jobs) {
    const std::string& id = rec.spec.id;
    if (id.empty() || rec.state == job_state::kStopped || Rank(rec.state) == 0) continue;
    seen_jobs.insert(id);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      Job& job = jobs_[id];
      job.phase = Phase::kUncertain;
      AdoptRecord(rec, job, now_ms, true);
      continue;
    }
    Job& job = it->second;
    if (job.phase == Phase::kUncertain ||
        std::make_tuple(rec.attempt, Rank(rec.state)) > std::make_tuple(job.attempt, Rank(job.state))) {
      AdoptRecord(rec, job, now_ms, true);
    }
  }
  std::vector<std::string> stale;
  for (const auto& [id, job] : jobs_) {
    if (!seen_jobs.count(id)) stale.push_back(id);
  }
  for (const auto& id : stale) RemoveJob(id, now_ms);
  // Anything still uncertain was not in the snapshot's view; drop it (a later
  // change event brings it back if it exists).
  TriggerRetry(now_ms);
  spdlog::info("snapshot at seq {}: {} hosts, {} jobs", snap.seq, snap.hosts.size(), snap.jobs.size());
}

// ---- striders ------------------------------------------------------------------

void AuctionEngine::OnHello(const std::string& user, const msg::StriderHello& m, int64_t now_ms) {
  if (m.host_id != user) {
    Reject("hello.spoofed", "hello claims host '" + m.host_id + "' from authenticated '" + user + "'");
    return;
  }
  auto it = hosts_.find(user);
  if (it == hosts_.end()) {
    Reject("hello.unknown_host", "hello from '" + user + "', not a host sauron knows");
    return;
  }
  it->second.reachable = true;
  counters_->Add("hello.ok");
  if (it->second.view.up) TriggerRetry(now_ms);
}

void AuctionEngine::OnBid(const std::string& user, const msg::Bid& m, int64_t now_ms) {
  if (m.host_id != user) {
    Reject("bid.spoofed", "bid claims host '" + m.host_id + "' from authenticated '" + user + "'");
    return;
  }
  auto hit = hosts_.find(user);
  if (hit == hosts_.end()) {
    Reject("bid.unknown_host", "bid from '" + user + "', not a host sauron knows");
    return;
  }
  Host& h = hit->second;
  h.reachable = true;
  auto ait = open_.find(m.auction_id);
  if (ait == open_.end()) {
    if (m.auction_id > 0 && m.auction_id < next_auction_id_) {
      // Closed: the bid cannot change that auction, but it is the newest word
      // on the host's free resources.
      counters_->Add("bid.late");
      if (auto o = closed_opened_ms_.find(m.auction_id); o != closed_opened_ms_.end()) {
        ObserveBidLatency(static_cast<double>(now_ms - o->second));
      }
      int64_t before = h.view.free.ram_mb;
      auto check = ledger_.ApplyBid(user, m.auction_id, m.free, m.capacity, now_ms);
      if (check.lying) Reject("bid.lying", "host " + user + ": " + check.why);
      RefreshView(h);
      // The auction closed without this host, so its jobs that found no room
      // may fit here: retry them now rather than at the periodic retry
      // (retry_pending_ms, 2 s), which on a nearly full pod under load was
      // the tail of a whole flood.
      if (h.view.free.ram_mb > before || RoomForAnUnplaceable(h.view.free)) TriggerRetry(now_ms);
      // The host holds resources for this bid until an Award says how it
      // ended or the hold expires (twice the deadline and a grace). Until
      // then its bids in later auctions show that much less free: measured
      // at 100 hosts, one full announce that closed before 99 bids arrived
      // made those hosts bid 0 free in the next auctions, and 800 jobs waited
      // for the 2 s retry. It won nothing here, so say so now.
      SendNothingWon(user, m.auction_id);
      spdlog::debug("late bid from {} for closed auction {}", user, m.auction_id);
    } else {
      Reject("bid.unknown_auction", "bid from " + user + " for auction " + std::to_string(m.auction_id) +
                                        " that was never opened");
    }
    return;
  }
  Auction& a = ait->second;
  auto p = a.hosts.find(user);
  if (p == a.hosts.end()) {
    Reject("bid.unsolicited", "bid from " + user + " for auction " + std::to_string(a.id) + " it was not asked to");
    return;
  }
  if (p->second.answered) {
    Reject("bid.duplicate", "second bid from " + user + " for auction " + std::to_string(a.id));
    return;
  }
  auto check = ledger_.ApplyBid(user, a.id, m.free, m.capacity, now_ms);
  if (check.lying) Reject("bid.lying", "host " + user + ": " + check.why);
  RefreshView(h);
  p->second.answered = true;
  p->second.declines = m.declines;
  ObserveBidLatency(static_cast<double>(now_ms - a.opened_ms));
  a.answered++;
  counters_->Add("bid.ok");
  if (a.answered >= a.hosts.size()) CloseAuction(a.id, now_ms);
}

void AuctionEngine::OnAck(const std::string& user, const msg::Ack& m, int64_t now_ms) {
  if (m.host_id != user) {
    Reject("ack.spoofed", "ack claims host '" + m.host_id + "' from authenticated '" + user + "'");
    return;
  }
  if (auto h = hosts_.find(user); h != hosts_.end()) h->second.reachable = true;
  std::vector<std::string> refused;
  std::string refuse_reason;
  for (const auto& o : m.results) {
    Job* job = FindJob(o.job_id);
    if (!job) {
      Reject("ack.unknown_job", "ack from " + user + " for unknown job " + o.job_id);
      continue;
    }
    // An orphan is an award of a previous elrond: its host may still ack it.
    bool awarded_here = (job->phase == Phase::kAwarded || job->phase == Phase::kPlaced ||
                         job->phase == Phase::kOrphan) &&
                        job->host == user && job->attempt == o.attempt;
    if (!awarded_here) {
      if (job->attempt != o.attempt) {
        Reject("ack.stale", "ack from " + user + " for " + o.job_id + " attempt " + std::to_string(o.attempt) +
                                ", current attempt " + std::to_string(job->attempt));
      } else if (job->host.empty() || job->phase == Phase::kQueued || job->phase == Phase::kAnnounced ||
                 job->phase == Phase::kUnplaceable) {
        Reject("ack.late", "ack from " + user + " for " + o.job_id + " after its award was revoked");
      } else {
        Reject("ack.not_awarded", "ack from " + user + " for " + o.job_id + ", awarded to '" + job->host + "'");
      }
      continue;
    }
    if (job->acked) {
      Reject("ack.duplicate", "second ack from " + user + " for " + o.job_id);
      continue;
    }
    if (o.ok) {
      job->acked = true;
      if (job->phase == Phase::kOrphan) job->phase = Phase::kAwarded;
      counters_->Add("ack.ok");
      ledger_.SetReflectedFrom(user, o.job_id, next_auction_id_);
      if (auto h = hosts_.find(user); h != hosts_.end()) RefreshView(h->second);
      if (job->state == job_state::kAwarded && job->phase == Phase::kAwarded) {
        // Acked but not yet claimed: give the claim a generous bound before
        // revoking, so a strider that acks and then dies does not pin the job.
        job->deadline_ms = now_ms + 5LL * opts_.ack_timeout_ms;
        timers_.emplace(job->deadline_ms, o.job_id);
      }
    } else if ((job->phase == Phase::kAwarded || job->phase == Phase::kOrphan) && job->state == job_state::kAwarded) {
      counters_->Add("ack.refused");
      job->avoid.insert(user);
      refused.push_back(o.job_id);
      refuse_reason = o.reason;
      spdlog::info("host {} refused job {}: {}", user, o.job_id, o.reason);
    } else {
      Reject("ack.refused_after_claim", "host " + user + " refused " + o.job_id + " it already claimed");
    }
  }
  if (!refused.empty()) RevokeJobs(refused, "refused by " + user + ": " + refuse_reason, false, now_ms);
}

// ---- auctions ------------------------------------------------------------------

std::vector<std::string> AuctionEngine::ChooseSample(const std::vector<std::string>& batch,
                                                     const std::vector<std::string>& idle, int64_t now_ms) {
  std::vector<const msg::JobSpec*> specs;
  specs.reserve(batch.size());
  for (const auto& id : batch) specs.push_back(&jobs_[id].spec);
  std::vector<SampleHost> hosts;
  hosts.reserve(idle.size());
  for (const auto& id : idle) {
    const Host& h = hosts_[id];
    hosts.push_back(SampleHost{&h.view, h.reachable, h.slow_until_ms > now_ms});
  }
  SampleOptions o;
  o.sample_hosts = static_cast<size_t>(opts_.sample_hosts);
  o.extra = opts_.sample_random >= 0 ? static_cast<size_t>(opts_.sample_random) : std::max<size_t>(2, o.sample_hosts / 8);
  o.strategy = opts_.strategy;
  return elrond::ChooseSample(specs, hosts, o, rng_);
}

std::vector<std::vector<size_t>> AuctionEngine::PartitionBatch(const std::vector<std::string>& batch,
                                                               const std::vector<std::string>& hosts) {
  std::vector<const msg::JobSpec*> specs;  // looked up once, not in the sort
  specs.reserve(batch.size());
  for (const auto& id : batch) specs.push_back(&jobs_[id].spec);
  std::vector<const HostView*> views;
  views.reserve(hosts.size());
  for (const auto& h : hosts) views.push_back(&hosts_[h].view);
  return elrond::PartitionBatch(specs, views, opts_.offers_per_job, opts_.strategy);
}

bool AuctionEngine::OpenAuction(int64_t now_ms) {
  while (!queue_.empty()) {
    Job* j = FindJob(queue_.front());
    if (j && j->phase == Phase::kQueued) break;
    queue_.pop_front();
  }
  if (queue_.empty()) return false;
  {
    const Job& head = jobs_[queue_.front()];
    bool ready = queue_.size() >= static_cast<size_t>(opts_.batch_max) ||
                 now_ms - head.queued_ms >= opts_.batch_delay_ms;
    if (!ready) return false;
  }
  std::vector<std::string> live, idle;
  for (const auto& [id, h] : hosts_) {
    if (!h.view.up || h.view.drained) continue;
    live.push_back(id);
    if (h.busy_auction == 0) idle.push_back(id);
  }
  std::sort(live.begin(), live.end());
  std::sort(idle.begin(), idle.end());

  std::vector<std::string> batch;
  bool full = opts_.sample_hosts <= 0 || live.size() <= static_cast<size_t>(opts_.sample_hosts);
  while (!queue_.empty() && batch.size() < static_cast<size_t>(opts_.batch_max)) {
    std::string id = std::move(queue_.front());
    queue_.pop_front();
    Job* j = FindJob(id);
    if (!j || j->phase != Phase::kQueued) continue;
    if (j->full_announce) full = true;
    j->phase = Phase::kAnnounced;  // also dedupes ids queued twice
    batch.push_back(std::move(id));
  }
  if (batch.empty()) return false;
  auto put_back = [&] {
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      jobs_[*it].phase = Phase::kQueued;
      queue_.push_front(*it);
    }
    queue_blocked_ = true;
  };

  if (live.empty()) {
    for (const auto& id : batch) SetUnplaceable(id, jobs_[id], "no host: no live host is up", now_ms);
    return true;
  }
  std::vector<std::string> addressed;
  bool sampled = false;
  if (full) {
    if (idle.size() < live.size()) {
      put_back();
      return false;
    }
    addressed = std::move(live);
  } else {
    size_t need = static_cast<size_t>(opts_.sample_hosts);
    if (idle.size() < need) {
      put_back();
      return false;
    }
    for (const auto& id : idle) RefreshView(hosts_[id]);
    addressed = ChooseSample(batch, idle, now_ms);
    sampled = addressed.size() < live.size();
  }

  int64_t auction_id = next_auction_id_++;
  msg::Announce ann;
  ann.auction_id = auction_id;
  int deadline = BidDeadlineMs();
  ann.deadline_ms = deadline;
  ann.jobs.reserve(batch.size());
  for (const auto& id : batch) {
    const Job& j = jobs_[id];
    msg::AnnouncedJob aj;
    aj.job_id = id;
    aj.attempt = j.attempt;
    aj.kind = j.spec.kind;
    aj.service = j.spec.service;
    aj.resources = j.spec.resources;
    aj.rules = j.spec.rules;
    aj.needs_container = !j.spec.image.empty();
    if (aj.needs_container && !j.spec.env.empty()) {
      aj.env = j.spec.env;
      if (auto e = env_aeads_.find(j.spec.env); e != env_aeads_.end()) aj.env_aead = e->second;
      aj.needs_aesni = ("," + aj.env_aead + ",").find(",aes256gcm,") != std::string::npos;
    }
    ann.jobs.push_back(std::move(aj));
  }
  Auction a;
  a.id = auction_id;
  a.opened_ms = now_ms;
  a.deadline_ms = now_ms + deadline;
  a.sampled = sampled;
  std::vector<char> reached(addressed.size(), 0);
  if (sampled && opts_.offers_per_job > 0 && addressed.size() > static_cast<size_t>(opts_.offers_per_job)) {
    // Each host gets its share of the batch, not all of it: a host with room
    // for ten jobs that decodes, bids on and holds for 512 made every job
    // cost ~70 hosts' work, and elrond's I/O thread encrypted the whole batch
    // once per sampled host.
    std::vector<std::vector<size_t>> parts = PartitionBatch(batch, addressed);
    std::vector<std::string> kept;
    std::vector<char> kept_reached;
    for (size_t i = 0; i < addressed.size(); ++i) {
      if (parts[i].empty()) continue;  // offered nothing: not part of this auction
      msg::Announce mine;
      mine.auction_id = auction_id;
      mine.deadline_ms = deadline;
      mine.jobs.reserve(parts[i].size());
      for (size_t ji : parts[i]) {
        mine.jobs.push_back(ann.jobs[ji]);
        a.offered[batch[ji]].push_back(addressed[i]);
      }
      kept.push_back(addressed[i]);
      kept_reached.push_back(outbox_->Send(addressed[i], msg::Encode(mine)) ? 1 : 0);
    }
    addressed = std::move(kept);
    reached = std::move(kept_reached);
    counters_->Add("auction.partitioned");
  } else {
    outbox_->Multicast(addressed, msg::Encode(ann), &reached);
  }
  a.jobs = batch;
  size_t unreached = 0;
  for (size_t i = 0; i < addressed.size(); ++i) {
    Host& h = hosts_[addressed[i]];
    if (reached[i]) {
      a.hosts[addressed[i]];
      h.busy_auction = auction_id;
    } else {
      h.reachable = false;
      unreached++;
    }
  }
  if (unreached) counters_->Add("announce.unreached", static_cast<int64_t>(unreached));
  if (a.hosts.empty()) {
    std::string why = "no host: none of " + std::to_string(addressed.size()) + " live hosts is connected to elrond";
    for (const auto& id : batch) SetUnplaceable(id, jobs_[id], why, now_ms);
    return true;
  }
  for (const auto& id : batch) jobs_[id].auction_id = auction_id;
  counters_->Add("auction.opened");
  counters_->Add("auction.jobs", static_cast<int64_t>(batch.size()));
  spdlog::debug("auction {}: {} jobs to {} hosts{}, deadline {} ms", auction_id, batch.size(), a.hosts.size(),
                sampled ? " (sampled)" : "", deadline);
  open_.emplace(auction_id, std::move(a));
  return true;
}

void AuctionEngine::CloseAuction(int64_t auction_id, int64_t now_ms) {
  auto ait = open_.find(auction_id);
  if (ait == open_.end()) return;
  Auction a = std::move(ait->second);
  open_.erase(ait);
  closed_opened_ms_[auction_id] = a.opened_ms;
  while (closed_opened_ms_.size() > 1024) closed_opened_ms_.erase(closed_opened_ms_.begin());
  queue_blocked_ = false;
  counters_->Add("auction.closed");
  spdlog::debug("auction {} closes after {} ms: {} of {} hosts bid", auction_id, now_ms - a.opened_ms, a.answered,
                a.hosts.size());

  std::vector<std::string> bidders;
  size_t missing = 0;
  for (auto& [host, p] : a.hosts) {
    auto h = hosts_.find(host);
    if (h != hosts_.end() && h->second.busy_auction == auction_id) h->second.busy_auction = 0;
    if (p.answered) {
      bidders.push_back(host);
    } else {
      missing++;
      // A host that misses a deadline is probably busy; later samples try
      // others first, so one slow host does not keep failing auctions.
      if (h != hosts_.end()) h->second.slow_until_ms = now_ms + kSlowHostMs;
    }
  }
  if (missing) counters_->Add("auction.missing_bids", static_cast<int64_t>(missing));
  AuctionBids bids;
  bids.hosts = std::move(bidders);
  std::sort(bids.hosts.begin(), bids.hosts.end());
  bids.views.reserve(bids.hosts.size());
  for (const auto& b : bids.hosts) {
    Host& h = hosts_[b];
    RefreshView(h);
    bids.views.push_back(&h.view);
  }
  for (size_t i = 0; i < bids.hosts.size(); ++i) {
    for (const auto& d : a.hosts[bids.hosts[i]].declines) bids.declines[d.job_id].emplace_back(i, &d.reason);
  }

  std::vector<std::pair<const std::string*, Job*>> jobs;
  for (const auto& id : a.jobs) {
    Job* j = FindJob(id);
    if (j && j->phase == Phase::kAnnounced && j->auction_id == auction_id) jobs.emplace_back(&id, j);
  }
  std::sort(jobs.begin(), jobs.end(), [](const auto& x, const auto& y) { return BiggerFirst(x.second->spec, y.second->spec); });

  // Each award is applied before the next job is decided: it changes the
  // views and zone counts the next decision reads.
  BatchDecider decider(bids, opts_.strategy, !a.offered.empty(), missing, a.sampled ? a.hosts.size() : 0);
  std::vector<msg::AwardIntent> intents;
  std::map<std::string, std::vector<std::string>> fallbacks;
  std::vector<std::pair<std::string, std::string>> unplaceable;
  for (auto& [idp, job] : jobs) {
    const std::string& id = *idp;
    auto oit = a.offered.find(id);
    BatchJob bj{idp, &job->spec, &job->avoid, oit != a.offered.end() ? &oit->second : nullptr};
    JobDecision d = decider.Decide(bj, zones_);
    if (d.widened) counters_->Add("auction.offer_widened");
    if (d.best >= 0) {
      const std::string& host = bids.hosts[d.best];
      Assign(id, *job, host, Ledger::kUnreflected);
      intents.push_back(msg::AwardIntent{id, job->attempt, host});
      fallbacks[id] = std::move(d.fallbacks);
    } else {
      unplaceable.emplace_back(id, std::move(d.unplaceable_reason));
    }
  }

  std::set<std::string> winners;
  for (const auto& in : intents) winners.insert(in.host_id);
  CommitAwards(auction_id, intents, &fallbacks, a.opened_ms, now_ms);
  // Bidders that won nothing: an empty Award lets them drop their hold now
  // rather than at the deadline.
  for (const auto& b : bids.hosts) {
    if (winners.count(b)) continue;
    SendNothingWon(b, auction_id);
  }
  if (!unplaceable.empty() && spdlog::should_log(spdlog::level::debug)) {
    // Why a batch found no room is usually in the bidders' numbers (a hold
    // left by another auction shows as a host with nothing free).
    int64_t most = 0;
    size_t empty = 0;
    for (const auto* v : bids.views) {
      most = std::max(most, v->free.ram_mb);
      if (v->free.ram_mb <= 0) empty++;
    }
    spdlog::debug("auction {}: {} jobs found no room; of {} bidders {} have no RAM free, the most free is {} MB",
                  auction_id, unplaceable.size(), bids.views.size(), empty, most);
  }
  for (auto& [id, reason] : unplaceable) {
    Job& job = jobs_[id];
    if (a.sampled && missing > 0 && job.sample_misses < kMaxSampleMisses) {
      // Part of the sample did not answer: try another sample (the silent
      // hosts now go last) before asking every host, which is what a pod
      // whose hosts are slow can least afford.
      job.sample_misses++;
      counters_->Add("auction.resampled");
      Enqueue(id, job, now_ms);
    } else if (a.sampled) {
      // Hosts outside the sample might fit: ask everyone before giving up.
      job.full_announce = true;
      Enqueue(id, job, now_ms);
    } else {
      SetUnplaceable(id, job, reason, now_ms);
    }
  }
}

void AuctionEngine::CommitAwards(int64_t auction_id, std::vector<msg::AwardIntent>& intents,
                                 std::map<std::string, std::vector<std::string>>* fallbacks, int64_t opened_ms,
                                 int64_t now_ms) {
  if (intents.empty()) return;
  msg::AwardRecordRequest req;
  req.awards = intents;
  auto res = registry_->RecordAwards(req);
  if (!res.ok()) {
    // Unknown outcome: sauron may or may not have recorded them. Forget our
    // tentative view and let a fresh snapshot say (awarded ones become orphans).
    spdlog::warn("recording {} awards in sauron failed: {}", intents.size(), res.status().ToString());
    counters_->Add("sched.award_failed");
    for (const auto& in : intents) {
      if (Job* j = FindJob(in.job_id)) {
        Unassign(in.job_id, *j, now_ms);
        j->phase = Phase::kUncertain;
      }
    }
    needs_resync_ = true;
    return;
  }
  std::unordered_map<std::string, const msg::Outcome*> outcome;
  for (const auto& o : res->results) outcome[o.job_id] = &o;
  std::map<std::string, msg::Award> awards;
  for (const auto& in : intents) {
    Job* j = FindJob(in.job_id);
    if (!j) continue;
    auto oit = outcome.find(in.job_id);
    if (oit == outcome.end() || !oit->second->ok) {
      std::string why = oit == outcome.end() ? "no outcome in reply" : oit->second->reason;
      Reject("sched.award_conflict", "sauron refused the award of " + in.job_id + " to " + in.host_id + ": " + why);
      Unassign(in.job_id, *j, now_ms);
      j->phase = Phase::kUncertain;
      needs_resync_ = true;
      continue;
    }
    j->state = job_state::kAwarded;
    j->attempt = oit->second->attempt;
    j->phase = Phase::kAwarded;
    j->auction_id = auction_id;
    j->acked = false;
    j->deadline_ms = now_ms + opts_.ack_timeout_ms;
    j->fallbacks.clear();
    if (fallbacks) {
      auto f = fallbacks->find(in.job_id);
      if (f != fallbacks->end()) j->fallbacks = f->second;
    }
    timers_.emplace(j->deadline_ms, in.job_id);
    msg::Award& aw = awards[in.host_id];
    aw.auction_id = auction_id;
    aw.host_id = in.host_id;
    msg::AwardedJob aj;
    aj.spec = j->spec;
    aj.attempt = j->attempt;
    aw.jobs.push_back(std::move(aj));
    if (opened_ms >= 0) {
      double ms = static_cast<double>(now_ms - opened_ms);
      if (latencies_.size() < kMaxLatencySamples) latencies_.push_back(ms);
      else latencies_[latency_next_++ % kMaxLatencySamples] = ms;
    }
  }
  counters_->Add("award.jobs", static_cast<int64_t>(intents.size()));
  for (auto& [host, aw] : awards) {
    if (!outbox_->Send(host, msg::Encode(aw))) {
      // Not connected any more: do not wait a full ack timeout for it.
      counters_->Add("award.unsent");
      hosts_[host].reachable = false;
      for (const auto& aj : aw.jobs) {
        if (Job* j = FindJob(aj.spec.id)) {
          j->deadline_ms = now_ms;
          timers_.emplace(now_ms, aj.spec.id);
        }
      }
    }
  }
}

void AuctionEngine::RevokeJobs(const std::vector<std::string>& job_ids, const std::string& reason,
                               bool try_fallback, int64_t now_ms) {
  msg::RevokeRequest req;
  req.reason = reason;
  for (const auto& id : job_ids) {
    if (Job* j = FindJob(id); j && j->state == job_state::kAwarded) req.items.push_back(msg::JobRef{id, j->attempt});
  }
  if (req.items.empty()) return;
  auto res = registry_->Revoke(req);
  if (!res.ok()) {
    spdlog::warn("revoking {} awards failed: {}; retrying", req.items.size(), res.status().ToString());
    counters_->Add("sched.revoke_failed");
    for (const auto& item : req.items) {
      if (Job* j = FindJob(item.job_id)) {
        j->deadline_ms = now_ms + 200;
        timers_.emplace(j->deadline_ms, item.job_id);
      }
    }
    return;
  }
  std::unordered_map<std::string, bool> ok;
  for (const auto& o : res->results) ok[o.job_id] = o.ok;
  std::vector<std::pair<std::string, std::string>> retry;  // (job, host it left)
  for (const auto& item : req.items) {
    Job* j = FindJob(item.job_id);
    if (!j) continue;
    auto it = ok.find(item.job_id);
    if (it == ok.end() || !it->second) {
      // The strider claimed it first (or it was stopped): the change stream
      // brings its real state; until then it is no longer ours to move.
      counters_->Add("revoke.lost_race");
      j->phase = Phase::kPlaced;
      continue;
    }
    counters_->Add("revoke.ok");
    std::string old_host = j->host;
    if (!old_host.empty()) j->avoid.insert(old_host);
    Unassign(item.job_id, *j, now_ms);
    j->state = job_state::kPending;
    retry.emplace_back(item.job_id, old_host);
  }
  std::vector<msg::AwardIntent> intents;
  for (auto& [id, old_host] : retry) {
    Job& j = jobs_[id];
    bool placed = false;
    if (try_fallback) {
      for (const auto& f : j.fallbacks) {
        if (f == old_host || j.avoid.count(f)) continue;
        auto h = hosts_.find(f);
        if (h == hosts_.end()) continue;
        RefreshView(h->second);
        if (CheckFeasible(j.spec, h->second.view) != Verdict::kFits) continue;
        Assign(id, j, f, Ledger::kUnreflected);
        intents.push_back(msg::AwardIntent{id, j.attempt, f});
        counters_->Add("award.fallback");
        placed = true;
        break;
      }
    }
    if (!placed) Enqueue(id, j, now_ms);
  }
  // Re-awards belong to no open auction (auction_id 0: the host holds nothing
  // for them; it admits them against its own free resources).
  CommitAwards(0, intents, nullptr, -1, now_ms);
  TriggerRetry(now_ms);
}

void AuctionEngine::ExpireTimers(int64_t now_ms) {
  std::vector<std::string> ack_expired, orphan_expired;
  while (!timers_.empty() && timers_.top().first <= now_ms) {
    auto [t, id] = timers_.top();
    timers_.pop();
    Job* j = FindJob(id);
    if (!j || j->state != job_state::kAwarded || j->deadline_ms > now_ms) continue;
    if (j->phase == Phase::kAwarded) ack_expired.push_back(id);
    else if (j->phase == Phase::kOrphan) orphan_expired.push_back(id);
  }
  std::sort(ack_expired.begin(), ack_expired.end());
  ack_expired.erase(std::unique(ack_expired.begin(), ack_expired.end()), ack_expired.end());
  std::sort(orphan_expired.begin(), orphan_expired.end());
  orphan_expired.erase(std::unique(orphan_expired.begin(), orphan_expired.end()), orphan_expired.end());
  if (!ack_expired.empty()) {
    counters_->Add("ack.timeout", static_cast<int64_t>(ack_expired.size()));
    spdlog::info("{} awards not acked (or claimed) in time; revoking", ack_expired.size());
    RevokeJobs(ack_expired, "no ack within " + std::to_string(opts_.ack_timeout_ms) + " ms", true, now_ms);
  }
  if (!orphan_expired.empty()) {
    counters_->Add("orphan.revoked", static_cast<int64_t>(orphan_expired.size()));
    spdlog::info("{} awards found at start-up were never claimed; revoking", orphan_expired.size());
    RevokeJobs(orphan_expired, "award not claimed within " + std::to_string(opts_.ack_timeout_ms) + " ms", false,
               now_ms);
  }
}

void AuctionEngine::FlushPendingReasons() {
  if (pending_reasons_.empty()) return;
  msg::PendingReasonsRequest req;
  while (!pending_reasons_.empty() && req.items.size() < kMaxPendingPerRequest) {
    auto it = pending_reasons_.begin();
    req.items.push_back(msg::PendingReason{it->first, it->second});
    pending_reasons_.erase(it);
  }
  Status s = registry_->RecordPending(req);
  if (!s.ok()) {
    // Only the explanation is lost; the job itself stays pending in sauron.
    counters_->Add("sched.pending_failed");
    spdlog::warn("recording {} pending reasons failed: {}", req.items.size(), s.ToString());
  }
}

void AuctionEngine::Tick(int64_t now_ms) {
  ExpireTimers(now_ms);
  std::vector<int64_t> due;
  for (const auto& [id, a] : open_) {
    if (a.deadline_ms <= now_ms || a.answered >= a.hosts.size()) due.push_back(id);
  }
  for (int64_t id : due) CloseAuction(id, now_ms);

  bool periodic = !unplaceable_.empty() && now_ms >= next_periodic_retry_ms_;
  if ((retry_due_ms_ != 0 && now_ms >= retry_due_ms_) || periodic) {
    retry_due_ms_ = 0;
    next_periodic_retry_ms_ = now_ms + opts_.retry_pending_ms;
    std::vector<std::string> ids(unplaceable_.begin(), unplaceable_.end());
    for (const auto& id : ids) {
      if (Job* j = FindJob(id); j && j->phase == Phase::kUnplaceable) Enqueue(id, *j, now_ms);
    }
    if (!ids.empty()) counters_->Add("retry.jobs", static_cast<int64_t>(ids.size()));
  }
  queue_blocked_ = false;
  while (OpenAuction(now_ms)) {
  }
  FlushPendingReasons();
}

int64_t AuctionEngine::NextWakeMs(int64_t now_ms) const {
  int64_t t = now_ms + 1000;
  if (!queue_.empty() && !queue_blocked_) {
    auto it = jobs_.find(queue_.front());
    int64_t head = it == jobs_.end() ? now_ms : it->second.queued_ms;
    t = std::min(t, head + opts_.batch_delay_ms);
  }
  for (const auto& [id, a] : open_) t = std::min(t, a.deadline_ms);
  if (!timers_.empty()) t = std::min(t, timers_.top().first);
  if (retry_due_ms_ != 0) t = std::min(t, retry_due_ms_);
  if (!unplaceable_.empty()) t = std::min(t, next_periodic_retry_ms_);
  if (!pending_reasons_.empty()) t = now_ms;
  return std::max(t, now_ms);
}

EngineStats AuctionEngine::Stats() const {
  EngineStats s;
  s.open_auctions = static_cast<int64_t>(open_.size());
  for (const auto& [id, j] : jobs_) {
    switch (j.phase) {
      case Phase::kQueued: s.queued++; break;
      case Phase::kAnnounced: s.announced++; break;
      case Phase::kAwarded: s.awarded++; break;
      case Phase::kOrphan: s.orphans++; break;
      case Phase::kUnplaceable: s.unplaceable++; break;
      case Phase::kPlaced: s.placed++; break;
      case Phase::kUncertain: s.uncertain++; break;
    }
  }
  for (const auto& [id, h] : hosts_) s.hosts_up += h.view.up ? 1 : 0;
  return s;
}

const HostView* AuctionEngine::host(const std::string& id) const {
  auto it = hosts_.find(id);
  return it == hosts_.end() ? nullptr : &it->second.view;
}

std::string AuctionEngine::JobPhase(const std::string& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return "";
  switch (it->second.phase) {
    case Phase::kQueued: return "queued";
    case Phase::kAnnounced: return "announced";
    case Phase::kAwarded: return it->second.acked ? "acked" : "awarded";
    case Phase::kOrphan: return "orphan";
    case Phase::kUnplaceable: return "unplaceable";
    case Phase::kPlaced: return "placed";
    case Phase::kUncertain: return "uncertain";
  }
  return "";
}

std::string AuctionEngine::JobHost(const std::string& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? "" : it->second.host;
}

std::string AuctionEngine::JobReason(const std::string& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? "" : it->second.reason;
}

}  // namespace rv::elrond
