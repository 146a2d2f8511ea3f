#include "strider/agent.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "common/event_kinds.h"
#include "common/states.h"
#include "common/clock.h"
#include "common/msg/topics.h"
#include "common/transport/curve.h"
#include "strider/announce_cache.h"
#include "strider/bidder.h"
#include "strider/job_env.h"
#include "strider/restore_plan.h"

namespace rv::strider {
namespace {

constexpr int kMaxDrain = 1000;  // messages per socket per poll round: others get a turn

}  // namespace

Agent::Agent(zmq::context_t& ctx, AgentOptions opts, std::shared_ptr<WorkloadFactory> factory)
    : ctx_(ctx), opts_(std::move(opts)), factory_(std::move(factory)), resources_(opts_.data_dir, opts_.capacity) {
  beacon_.SetWatchdog(opts_.beacon_watchdog_ms);
  beacon_.MarkAlive(MonotonicMs());
  if (opts_.beacon_pump) opts_.beacon_pump->Add(&beacon_);
}

Agent::~Agent() {
  if (opts_.beacon_pump) opts_.beacon_pump->Remove(&beacon_);
}

Status Agent::Start() {
  if (opts_.host_id.empty()) return Status::Invalid("host id is empty");
  if (opts_.sauron_api.empty() || opts_.elrond_endpoint.empty()) return Status::Invalid("sauron or elrond endpoint missing");
  if (!transport::IsValidZ85Key(opts_.sauron_public_key) || !transport::IsValidZ85Key(opts_.elrond_public_key)) {
    return Status::Invalid("sauron or elrond public key missing or invalid");
  }
  auto m = resources_.Measure();
  if (!m.ok()) return m.status();
  measured_ = *m;
  next_measure_ms_ = MonotonicMs() + opts_.measure_interval_ms;
  if (opts_.heartbeat_ms > 0) heartbeat_ms_ = opts_.heartbeat_ms;
  if (Status s = MakeSauronLink(); !s.ok()) return s;
  if (Status s = MakeElrondLink(); !s.ok()) return s;
  MakeChangeStream();
  RestoreFromJournal();
  spdlog::info("[{}] strider up: capacity {}, key {}", opts_.host_id, Describe(measured_.capacity),
               transport::KeyFingerprint(opts_.key.public_key));
  return Status::Ok();
}

Status Agent::MakeSauronLink() {
  if (sauron_) sauron_->FailAll("connection to sauron replaced");
  sauron_connected_ = false;
  welcomed_ = false;
  hello_inflight_ = false;
  ++sockets_version_;
  try {
    sauron_ = std::make_unique<Link>(ctx_, opts_.sauron_api, opts_.key, opts_.sauron_public_key, opts_.host_id,
                                     opts_.zmtp_heartbeat_ms, opts_.zmtp_timeout_ms);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("cannot connect to sauron at " + opts_.sauron_api + ": " + e.what());
  }
  return Status::Ok();
}

Status Agent::MakeElrondLink() {
  if (elrond_) elrond_->FailAll("connection to elrond replaced");
  ++sockets_version_;
  try {
    elrond_ = std::make_unique<Link>(ctx_, opts_.elrond_endpoint, opts_.key, opts_.elrond_public_key, opts_.host_id,
                                     opts_.zmtp_heartbeat_ms, opts_.zmtp_timeout_ms);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("cannot connect to elrond at " + opts_.elrond_endpoint + ": " + e.what());
  }
  return Status::Ok();
}

// Made once; ChangeSubscriber re-makes it only after sauron refused its
// handshake (then also at the next welcome, see OnWelcome).
void Agent::MakeChangeStream() {
  if (opts_.sauron_pub.empty()) return;
  changes_.reset();
  ++sockets_version_;
  transport::ChangeSubscriberOptions o;
  o.endpoint = opts_.sauron_pub;
  o.key = opts_.key;
  o.server_public_key = opts_.sauron_public_key;
  // Only the job events that take a job away from this host (OnChange acts
  // on nothing else). job.awarded, job.placed and job.state addressed here
  // are this host's own doing, already known from elrond's award and
  // sauron's replies: subscribed, they cost sauron three encryptions and
  // this host three decryptions per placement for nothing.
  for (const char* kind : {event_kind::kJobRevoked, event_kind::kJobPending, event_kind::kJobStopped}) {
    o.topics.push_back(msg::HostTopic(opts_.host_id, kind));
  }
  // Heard when alive: sauron gave up on us (its beacons went unheard), so we
  // say hello again at once instead of at the next heartbeat.
  o.topics.push_back(msg::HostTopic(opts_.host_id, event_kind::kHostLost));
  o.name = "[" + opts_.host_id + "] change stream";
  // The links' backoff (RelinkDelay), reset by sauron's welcome only.
  o.first_backoff_ms = 200;
  o.max_backoff_ms = 5000;
  o.message_resets_backoff = false;
  o.max_per_round = kMaxDrain;
  auto opened = transport::ChangeSubscriber::Open(ctx_, std::move(o));
  if (!opened.ok()) {
    spdlog::warn("[{}] {}", opts_.host_id, opened.status().message());
    return;
  }
  changes_ = std::move(*opened);
}

// After the change stream may have re-made its socket: the owner re-fetches
// the poll items; a stream that could not be re-made is dropped.
void Agent::AfterChangesResubscribe(const Result<bool>& remade) {
  if (!remade.ok()) {
    spdlog::warn("[{}] {}", opts_.host_id, remade.status().message());
    changes_.reset();
    ++sockets_version_;
  } else if (remade.value()) {
    ++sockets_version_;
  }
}

int64_t Agent::RelinkDelay(int* failures) {
  int64_t d = 200;
  for (int i = 0; i < *failures && d < 5000; ++i) d *= 2;
  ++*failures;
  return std::min<int64_t>(d, 5000);
}

uint64_t Agent::sends() const { return (sauron_ ? sauron_->sends() : 0) + (elrond_ ? elrond_->sends() : 0); }

msg::Resources Agent::Free() const { return reservations_.Free(Base()); }

void Agent::Reject(const std::string& counter, const std::string& why) {
  counters_.Add(counter);
  spdlog::warn("[{}] rejected: {}", opts_.host_id, why);
}

void Agent::AppendPollItems(std::vector<zmq::pollitem_t>* items) {
  items->push_back({sauron_->socket().handle(), 0, ZMQ_POLLIN, 0});
  items->push_back({sauron_->monitor().socket().handle(), 0, ZMQ_POLLIN, 0});
  items->push_back({elrond_->socket().handle(), 0, ZMQ_POLLIN, 0});
  items->push_back({elrond_->monitor().socket().handle(), 0, ZMQ_POLLIN, 0});
  if (changes_) {
    changes_->AppendPollItems(items);
  } else {  // without a change stream its slots ask for no events
    for (size_t i = 0; i < transport::ChangeSubscriber::kPollItems; ++i) {
      items->push_back({sauron_->socket().handle(), 0, 0, 0});
    }
  }
}

void Agent::HandleReady(const zmq::pollitem_t* items) {
  if (items[1].revents & ZMQ_POLLIN) DrainMonitor(*sauron_, true);
  if (items[3].revents & ZMQ_POLLIN) DrainMonitor(*elrond_, false);
  if (items[0].revents & ZMQ_POLLIN) DrainSauron();
  if (items[2].revents & ZMQ_POLLIN) DrainElrond();
  if (changes_) {
    int64_t refused = changes_->refused();
    changes_->HandleReady(items + 4, MonotonicMs(), [this](const Result<msg::Change>& c) {
      if (!c.ok()) {
        Reject("rx.malformed", c.status().message());
        return;
      }
      OnChange(c.value());
    });
    // As for the links: libzmq never retries a refused handshake; the stream
    // subscribes again at the next welcome (sauron knows our key by then) or
    // after a backoff.
    if (changes_->refused() > refused) counters_.Add("handshake_failed", changes_->refused() - refused);
  }
}

void Agent::RunOnce(int timeout_ms) {
  std::vector<zmq::pollitem_t> items;
  AppendPollItems(&items);
  try {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) spdlog::warn("[{}] poll: {}", opts_.host_id, e.what());
    return;
  }
  HandleReady(items.data());
  Tick(MonotonicMs());
}

void Agent::DrainMonitor(Link& link, bool is_sauron) {
  while (auto ev = link.monitor().Next()) {
    if (ev->kind == transport::ConnEvent::kConnected) {
      if (is_sauron) {
        sauron_connected_ = true;
        conn_endpoint_ = ev->local;
        welcomed_ = false;
        spdlog::info("[{}] connected to sauron {} from {}", opts_.host_id, link.endpoint(), ev->local);
        SendHello(MonotonicMs());
      } else {
        spdlog::info("[{}] connected to elrond {}", opts_.host_id, link.endpoint());
        link.Send(msg::StriderHello{opts_.host_id});
      }
    } else if (ev->kind == transport::ConnEvent::kDisconnected) {
      spdlog::warn("[{}] lost connection to {}", opts_.host_id, is_sauron ? "sauron" : "elrond");
      if (is_sauron) {
        sauron_connected_ = false;
        welcomed_ = false;
        beacon_.Stop();
      }
    } else if (ev->kind == transport::ConnEvent::kHandshakeFailed) {
      counters_.Add("handshake_failed");
      // libzmq never retries a connection whose handshake was refused, so
      // make a new one later: the server may simply not know our key yet.
      int64_t delay = RelinkDelay(is_sauron ? &sauron_failures_ : &elrond_failures_);
      (is_sauron ? relink_sauron_at_ms_ : relink_elrond_at_ms_) = MonotonicMs() + delay;
      spdlog::warn("[{}] CURVE handshake with {} refused (not enrolled yet, or wrong server key?); retrying in {} ms",
                   opts_.host_id, link.endpoint(), delay);
    }
  }
}

void Agent::SendHello(int64_t now_ms) {
  msg::HostHello h;
  h.host_id = opts_.host_id;
  h.address = opts_.address;
  h.capacity = measured_.capacity;
  h.free = Free();
  h.conn_endpoint = conn_endpoint_;
  h.aesni = opts_.aesni;
  for (const auto& [id, job] : jobs_) {
    if (!job.stopping) h.jobs.push_back(msg::JobRef{id, job.attempt});
  }
  hello_inflight_ = true;
  next_hello_ms_ = now_ms + opts_.request_timeout_ms + opts_.hello_retry_ms;
  sauron_->Request(h, now_ms, opts_.request_timeout_ms, [this](const Status& s, const std::string& payload) {
    hello_inflight_ = false;
    if (!s.ok()) {
      counters_.Add("hello_failed");
      spdlog::warn("[{}] host.hello failed: {}", opts_.host_id, s.ToString());
      next_hello_ms_ = MonotonicMs() + opts_.hello_retry_ms;
      return;
    }
    auto env = msg::DecodeEnvelope(payload);
    msg::HostWelcome w;
    Status d = env.ok() ? msg::DecodeBody(*env, &w) : env.status();
    if (!d.ok()) {
      Reject("rx.malformed", "host.welcome: " + d.ToString());
      next_hello_ms_ = MonotonicMs() + opts_.hello_retry_ms;
      return;
    }
    OnWelcome(w);
  });
}

void Agent::OnWelcome(const msg::HostWelcome& w) {
  labels_ = w.labels;
  sauron_failures_ = 0;
  // Refused before sauron knew our key: subscribe again now.
  if (changes_) AfterChangesResubscribe(changes_->ResubscribeNowIfRefused());
  if (opts_.heartbeat_ms <= 0) heartbeat_ms_ = std::clamp(w.heartbeat_ms, 20, 60000);
  welcomed_ = true;
  next_heartbeat_ms_ = 0;
  last_hb_sent_ms_ = std::numeric_limits<int64_t>::min() / 2;  // a new welcome: report in full
  beacons_heard_ = false;  // a new beacon session: sauron has heard none of it yet
  if (w.beacon_port > 0) {
    Status b = beacon_.Start(EndpointHost(opts_.sauron_api), w.beacon_port, w.beacon_session, w.beacon_key,
                             w.beacon_ms);
    if (!b.ok()) spdlog::warn("[{}] no liveness beacons: {}", opts_.host_id, b.message());
  }
  spdlog::info("[{}] welcomed by sauron: {} labels, keep {}, stop {}", opts_.host_id, labels_.size(), w.keep.size(),
               w.stop.size());
  for (const auto& ref : w.stop) {
    auto it = jobs_.find(ref.job_id);
    if (it != jobs_.end() && it->second.attempt <= ref.attempt) StopJob(ref.job_id, "sauron: no longer this host's");
  }
  std::map<std::string, JournalEntry> journaled;  // kept restores: their entries stand as they are
  if (!pending_restore_.empty()) {
    // Journaled jobs not running: what sauron still places here starts
    // below (keep); what it moved elsewhere meanwhile never runs here again.
    PendingSplit split = SplitPendingByWelcome(pending_restore_, w.keep);
    for (auto& e : split.kept) journaled[e.spec.id] = e;
    for (const auto& e : split.fenced) {
      spdlog::warn("[{}] journal: {} attempt {} is no longer placed here: fenced, not restarted", opts_.host_id,
                   e.spec.id, e.attempt);
      counters_.Add("restore_fenced");
      ++restore_.fenced;
      if (journal_) (void)journal_->Remove(e.spec.id);
    }
    restore_.restarted += static_cast<int>(split.kept.size());
    pending_restore_.clear();
  }
  ReportRestore();
  std::vector<msg::JobRecord> keep = w.keep;
  SortKeepForStart(&keep);  // data services before code
  for (const auto& rec : keep) {
    auto it = jobs_.find(rec.spec.id);
    if (it != jobs_.end() && it->second.attempt == rec.attempt) continue;
    if (it != jobs_.end()) {
      // Another attempt of the same job: the old one is fenced.
      StopJob(rec.spec.id, "superseded by attempt " + std::to_string(rec.attempt));
      continue;  // restarted when the old one is gone and sauron tells us again
    }
    Reservations::Entry e = Reservations::For(rec.spec, rec.attempt);
    if (Status s = reservations_.Admit(e, Base()); !s.ok()) {
      counters_.Add("keep_refused");
      spdlog::error("[{}] sauron says keep {} but it does not fit: {}", opts_.host_id, rec.spec.id, s.message());
      msg::JobReport r{opts_.host_id, rec.spec.id, rec.attempt, RunStateName(RunState::kFailed), "cannot admit: " + s.message()};
      sauron_->Request(r, MonotonicMs(), opts_.request_timeout_ms, [](const Status&, const std::string&) {});
      continue;
    }
    // The environment config comes sealed to our key, as with a claim.
    auto sealed = w.sealed_envs.find(rec.spec.id);
    auto env = OpenJobEnv(opts_.key, sealed == w.sealed_envs.end() ? std::string() : sealed->second);
    if (!env.ok()) {
      FailUnopenedEnv(rec.spec.id, rec.attempt, env.status());
      continue;
    }
    auto j = journaled.find(rec.spec.id);
    StartJob(rec.spec, rec.attempt, env->vars(), sealed == w.sealed_envs.end() ? std::string() : sealed->second,
             j == journaled.end() ? nullptr : &j->second);
  }
}

// A job whose sealed environment does not open here (not sealed to our key, or
// corrupt) must not run without its config: it is reported failed and its
// reservation released.
void Agent::FailUnopenedEnv(const std::string& job_id, int64_t attempt, const Status& why) {
  counters_.Add("env_open_failed");
  spdlog::error("[{}] {} attempt {}: cannot open its sealed environment: {}", opts_.host_id, job_id, attempt,
                why.message());
  reservations_.Release(job_id);
  msg::JobReports r{opts_.host_id,
                    {{opts_.host_id, job_id, attempt, RunStateName(RunState::kFailed), "cannot open the sealed environment config: " + why.message()}}};
  sauron_->Request(r, MonotonicMs(), opts_.request_timeout_ms, [](const Status&, const std::string&) {});
}

void Agent::DrainSauron() {
  for (int i = 0; i < kMaxDrain; ++i) {
    zmq::message_t m;
    if (!transport::TryRecv(sauron_->socket(), &m)) return;
    auto env = msg::DecodeEnvelope(m.data(), m.size());
    if (!env.ok()) {
      Reject("rx.malformed", "from sauron: " + env.status().message());
      continue;
    }
    if (!sauron_->HandleReply(*env)) counters_.Add("rx.unexpected_reply");
  }
}

void Agent::DrainElrond() {
  for (int i = 0; i < kMaxDrain; ++i) {
    zmq::message_t m;
    if (!transport::TryRecv(elrond_->socket(), &m)) return;
    std::string_view bytes(static_cast<const char*>(m.data()), m.size());
    if (opts_.announce_cache) {
      if (auto cached = opts_.announce_cache->Find(bytes)) {
        elrond_failures_ = 0;
        OnAnnounce(*cached);
        continue;
      }
    }
    auto env = msg::DecodeEnvelope(m.data(), m.size());
    if (!env.ok()) {
      Reject("rx.malformed", "from elrond: " + env.status().message());
      continue;
    }
    elrond_failures_ = 0;
    if (env->type == msg::Announce::kType) {
      auto a = std::make_shared<msg::Announce>();
      if (Status s = msg::DecodeBody(*env, a.get()); !s.ok()) {
        Reject("rx.malformed", s.message());
        continue;
      }
      if (opts_.announce_cache) opts_.announce_cache->Put(bytes, a);
      OnAnnounce(*a);
    } else if (env->type == msg::Award::kType) {
      msg::Award a;
      if (Status s = msg::DecodeBody(*env, &a); !s.ok()) {
        Reject("rx.malformed", s.message());
        continue;
      }
      if (a.host_id != opts_.host_id) {
        Reject("rx.host_mismatch", "award for host '" + a.host_id + "'");
        continue;
      }
      OnAward(a);
    } else if (!elrond_->HandleReply(*env)) {
      Reject("rx.unknown_type", "unexpected message '" + env->type + "' from elrond");
    }
  }
}

void Agent::OnAnnounce(const msg::Announce& a) {
  int64_t now = MonotonicMs();
  counters_.Add("announces");
  BidderView view;
  view.capacity = measured_.capacity;
  view.free = reservations_.Free(Base(), a.auction_id);
  view.labels = labels_;
  view.services = reservations_.Services();
  view.ports = reservations_.Ports();
  view.containers = opts_.containers;
  view.no_containers_why = opts_.no_containers_why;
  view.builds = opts_.builds;
  view.no_builds_why = opts_.no_builds_why;
  view.aesni = opts_.aesni;
  BidDecision d = DecideBid(view, a.jobs);
  int deadline = std::clamp(a.deadline_ms, 0, 60000);
  if (d.hold.ram_mb > 0 || d.hold.disk_mb > 0 || d.hold.cpu_millis > 0) {
    reservations_.Hold(a.auction_id, d.hold, now + 2 * deadline + opts_.hold_grace_ms);
  }
  msg::Bid bid;
  bid.auction_id = a.auction_id;
  bid.host_id = opts_.host_id;
  bid.free = view.free;
  bid.capacity = measured_.capacity;
  bid.score = d.score;
  bid.declines = std::move(d.declines);
  counters_.Add("bids");
  counters_.Add("declines", static_cast<int64_t>(bid.declines.size()));
  if (!elrond_->Send(bid)) counters_.Add("bid_send_failed");
}

void Agent::OnAward(const msg::Award& a) {
  int64_t now = MonotonicMs();
  if (a.jobs.empty()) {
    // Elrond tells a bidder that won nothing, so the hold ends now.
    reservations_.ReleaseHold(a.auction_id);
    return;
  }
  counters_.Add("awards");
  std::vector<msg::Outcome> results;  // refusals and duplicates, answered with the claimed ones
  std::vector<msg::AwardedJob> admitted;
  msg::ClaimRequest claim;
  claim.host_id = opts_.host_id;
  for (const auto& aj : a.jobs) {
    const auto& spec = aj.spec;
    auto running = jobs_.find(spec.id);
    if (running != jobs_.end() && running->second.attempt == aj.attempt) {
      // Duplicate award (elrond re-sent it): we already hold and run it.
      counters_.Add("award_duplicate");
      results.push_back(msg::Outcome{spec.id, aj.attempt, true, "already running"});
      continue;
    }
    if (spec.id.empty() || aj.attempt <= 0) {
      Reject("rx.malformed", "award with empty job id or attempt");
      continue;
    }
    Reservations::Entry e = Reservations::For(spec, aj.attempt);
    Status s = running != jobs_.end() ? Status::Conflict("another attempt of this job still runs here")
                                      : reservations_.Admit(e, Base(), a.auction_id);
    if (!s.ok()) {
      counters_.Add("award_refused");
      spdlog::warn("[{}] refusing award of {} attempt {}: {}", opts_.host_id, spec.id, aj.attempt, s.message());
      results.push_back(msg::Outcome{spec.id, aj.attempt, false, s.message()});
      continue;
    }
    admitted.push_back(aj);
    claim.claims.push_back(msg::JobRef{spec.id, aj.attempt});
  }
  reservations_.ReleaseHold(a.auction_id);
  if (admitted.empty()) {
    elrond_->Send(msg::Ack{opts_.host_id, results});
    return;
  }
  // The claim is the commit point: only a job sauron confirms is ours may run.
  sauron_->Request(claim, now, opts_.request_timeout_ms,
                   [this, admitted = std::move(admitted), results = std::move(results)](
                       const Status& s, const std::string& payload) mutable {
    std::map<std::string, msg::Outcome> by_job;
    Status st = s;
    if (st.ok()) {
      auto env = msg::DecodeEnvelope(payload);
      msg::Outcomes outs;
      st = env.ok() ? msg::DecodeBody(*env, &outs) : env.status();
      if (st.ok()) {
        for (auto& o : outs.results) by_job[o.job_id] = o;
      }
    }
    if (!st.ok()) {
      counters_.Add("claims_failed");
      spdlog::warn("[{}] job.claim failed: {}", opts_.host_id, st.ToString());
    }
    for (const auto& aj : admitted) {
      const auto& id = aj.spec.id;
      auto it = by_job.find(id);
      bool ok = st.ok() && it != by_job.end() && it->second.ok && it->second.attempt == aj.attempt;
      if (!ok) {
        std::string why = !st.ok() ? "claim failed: " + st.message()
                          : it == by_job.end() ? "claim: no outcome from sauron"
                                               : "claim refused: " + it->second.reason;
        reservations_.Release(id);
        counters_.Add("claim_refused");
        results.push_back(msg::Outcome{id, aj.attempt, false, why});
        continue;
      }
      // Sealed to our key by sauron at claim time; opened in memory only.
      auto env = OpenJobEnv(opts_.key, it->second.sealed_env);
      if (!env.ok()) {
        FailUnopenedEnv(id, aj.attempt, env.status());
        results.push_back(msg::Outcome{id, aj.attempt, false, "cannot open the sealed environment config"});
        continue;
      }
      StartJob(aj.spec, aj.attempt, env->vars(), it->second.sealed_env);
      results.push_back(msg::Outcome{id, aj.attempt, true, ""});
    }
    elrond_->Send(msg::Ack{opts_.host_id, results});
  });
}

void Agent::JournalPut(const Job& job, const std::string& sealed_env) {
  if (!journal_) return;
  JournalEntry e;
  e.spec = job.spec;
  e.attempt = job.attempt;
  e.image_digest = job.journal_digest;
  e.sealed_env = sealed_env;
  if (Status s = journal_->Put(e); !s.ok()) {
    counters_.Add("journal_write_failed");
    spdlog::error("[{}] journal: cannot record {}: {}", opts_.host_id, job.spec.id, s.message());
  }
}

// Live restore: adopt what still runs, keep the rest for the welcome.
void Agent::RestoreFromJournal() {
  if (opts_.journal_dir.empty()) return;
  int64_t t0 = MonotonicMs();
  journal_ = std::make_unique<Journal>(opts_.journal_dir);
  if (Status s = journal_->Open(); !s.ok()) {
    spdlog::error("[{}] journal: {}; running without one", opts_.host_id, s.message());
    journal_.reset();
    return;
  }
  Journal::Loaded l = journal_->Load();
  for (const auto& c : l.corrupt) {
    spdlog::error("[{}] journal: corrupt entry set aside: {}", opts_.host_id, c);
    counters_.Add("journal_corrupt");
  }
  restore_.corrupt = static_cast<int>(l.corrupt.size());
  for (auto& e : RestoreOrder(std::move(l.entries))) {
    const std::string id = e.spec.id;
    const int64_t attempt = e.attempt;
    auto w = factory_->Create(e.spec, [this, id, attempt](RunState st, const std::string& detail) {
      state_events_.push_back(StateEvent{id, attempt, st, detail});
    });
    int64_t ta = MonotonicMs();
    Status s = w->Adopt(e.spec);
    spdlog::debug("[{}] adopt {}: {} in {} ms", opts_.host_id, id, s.ok() ? "ok" : s.message(), MonotonicMs() - ta);
    if (!s.ok()) {
      spdlog::info("[{}] journal: {} attempt {} not running ({}); waiting for sauron's word", opts_.host_id, id,
                   attempt, s.message());
      pending_restore_.push_back(std::move(e));
      continue;
    }
    Reservations::Entry re = Reservations::For(e.spec, attempt);
    if (Status rs = reservations_.Admit(re, Base()); !rs.ok())
      spdlog::warn("[{}] adopted {} over the measured free resources: {}", opts_.host_id, id, rs.message());
    Job& job = jobs_[id];
    job.spec = e.spec;
    job.attempt = attempt;
    job.journal_digest = e.image_digest;
    job.workload = std::move(w);
    sealed_envs_[id] = e.sealed_env;
    counters_.Add("adopted");
    ++restore_.adopted;
  }
  restore_.pending = static_cast<int>(pending_restore_.size());
  restore_.adopt_ms = MonotonicMs() - t0;
  restore_deadline_ms_ = MonotonicMs() + opts_.restore_wait_ms;
  if (restore_.adopted || restore_.pending || restore_.corrupt) {
    spdlog::info("[{}] live restore: adopted {} running jobs in {} ms, {} to reconcile with sauron, {} corrupt entries",
                 opts_.host_id, restore_.adopted, restore_.adopt_ms, restore_.pending, restore_.corrupt);
  }
}

// Sauron did not answer in time: run what the journal says, reconcile later
// (the hello lists these jobs and the welcome's stop list fences).
void Agent::StartPendingOffline(int64_t now_ms) {
  (void)now_ms;
  spdlog::warn("[{}] sauron did not welcome us within {} ms: starting {} journaled jobs on the journal's word",
               opts_.host_id, opts_.restore_wait_ms, pending_restore_.size());
  std::vector<JournalEntry> todo = RestoreOrder(std::move(pending_restore_));
  pending_restore_.clear();
  for (const auto& e : todo) {
    if (jobs_.count(e.spec.id)) continue;
    auto env = OpenJobEnv(opts_.key, e.sealed_env);
    if (!env.ok()) {
      spdlog::error("[{}] journal: {}: sealed env does not open: {}", opts_.host_id, e.spec.id, env.status().message());
      continue;  // sauron's welcome brings it when it answers
    }
    Reservations::Entry re = Reservations::For(e.spec, e.attempt);
    (void)reservations_.Admit(re, Base());
    counters_.Add("restored_offline");
    ++restore_.offline;
    StartJob(e.spec, e.attempt, env->vars(), e.sealed_env, &e);
  }
}

// Once per start, after the first welcome: what the restore did, to the
// owner (sceptre status) and to sauron's event log.
void Agent::ReportRestore() {
  if (restore_reported_ || !journal_) return;
  restore_reported_ = true;
  if (opts_.on_restored) opts_.on_restored(restore_);
  if (restore_.adopted + restore_.pending + restore_.corrupt + restore_.offline == 0) return;
  std::string summary = "strider restore: adopted " + std::to_string(restore_.adopted) + " running in " +
                        std::to_string(restore_.adopt_ms) + " ms, restarted " + std::to_string(restore_.restarted) +
                        ", fenced " + std::to_string(restore_.fenced) + ", started offline " +
                        std::to_string(restore_.offline) + ", corrupt journal entries " +
                        std::to_string(restore_.corrupt);
  sauron_->Request(msg::HostRecovery{opts_.host_id, summary}, MonotonicMs(), opts_.request_timeout_ms,
                   [](const Status&, const std::string&) {});
}

void Agent::Release() {
  for (auto& [id, job] : jobs_) {
    if (!job.stopping) job.workload->Release();
  }
  spdlog::info("[{}] released {} jobs: they keep running for the next strider", opts_.host_id, jobs_.size());
  jobs_.clear();
}

std::vector<std::string> Agent::pending_restore_jobs() const {
  std::vector<std::string> out;
  for (const auto& e : pending_restore_) out.push_back(e.spec.id);
  return out;
}

namespace {

// A restored job's entry already says what would be written (same spec,
// attempt and sealed env): two fsyncs per job, serial on this loop, were a
// second of a 100-container boot.
bool JournalSaysAlready(const JournalEntry& journaled, const msg::JobSpec& spec, int64_t attempt,
                        const std::string& sealed_env) {
  JournalEntry now = journaled;
  now.spec = spec;
  now.attempt = attempt;
  now.sealed_env = sealed_env;
  return EncodeJournalEntry(now) == EncodeJournalEntry(journaled);
}

}  // namespace

void Agent::StartJob(const msg::JobSpec& spec, int64_t attempt, const std::map<std::string, std::string>& secrets,
                     const std::string& sealed_env, const JournalEntry* journaled) {
  std::string id = spec.id;
  Job& job = jobs_[id];
  job.spec = spec;
  job.attempt = attempt;
  job.journal_digest.clear();
  // Desired state first: a crash between here and the start leaves an entry
  // the next strider reconciles, never a container nobody knows of.
  sealed_envs_[id] = sealed_env;
  if (journaled && JournalSaysAlready(*journaled, spec, attempt, sealed_env)) {
    job.journal_digest = journaled->image_digest;
    counters_.Add("journal_unchanged");
  } else {
    JournalPut(job, sealed_env);
  }
  job.workload = factory_->Create(spec, [this, id, attempt](RunState st, const std::string& detail) {
    state_events_.push_back(StateEvent{id, attempt, st, detail});
  });
  counters_.Add("jobs_started");
  spdlog::info("[{}] starting {} attempt {}", opts_.host_id, id, attempt);
  Status s = job.workload->Start(spec, secrets);
  if (!s.ok()) spdlog::warn("[{}] {} did not start: {}", opts_.host_id, id, s.message());
}

void Agent::StopJob(const std::string& job_id, const std::string& why) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.stopping) return;
  spdlog::info("[{}] stopping {}: {}", opts_.host_id, job_id, why);
  counters_.Add("jobs_stopped");
  it->second.stopping = true;
  it->second.workload->Stop(std::chrono::milliseconds(opts_.stop_grace_ms));
}

// Fencing from the change stream: a job we run whose current attempt moved on,
// went elsewhere, or was stopped, is no longer ours.
void Agent::OnChange(const msg::Change& c) {
  if (c.event.kind == event_kind::kHostLost) {
    if (c.event.host_id == opts_.host_id && welcomed_) {
      spdlog::warn("[{}] sauron declared this host lost ({}); saying hello again", opts_.host_id, c.event.detail);
      counters_.Add("declared_lost");
      welcomed_ = false;
      next_hello_ms_ = 0;
    }
    return;
  }
  const std::string& id = c.job ? c.job->spec.id : c.event.job_id;
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.stopping) return;
  const Job& mine = it->second;
  if (c.job) {
    const auto& rec = *c.job;
    if (rec.attempt < mine.attempt) return;  // older news
    bool still_mine = rec.attempt == mine.attempt && rec.host_id == opts_.host_id &&
                      (rec.state == job_state::kAwarded || rec.state == job_state::kPlaced);
    if (!still_mine) StopJob(id, "sauron: job is " + rec.state + " attempt " + std::to_string(rec.attempt) +
                                     (rec.host_id.empty() ? "" : " on " + rec.host_id));
  } else if (c.event.kind == event_kind::kJobStopped && c.event.attempt >= mine.attempt) {
    StopJob(id, "sauron: job stopped");
  }
}

// "starting" followed, in the same turn, by a later state of the same attempt
// says nothing the later state does not (a workload that started at once):
// sending it costs sauron a write, an event and a change per job. Any other
// state is kept, even when superseded (an exit code matters).
void DropSupersededStarting(std::vector<msg::JobReport>* reports) {
  std::map<std::pair<std::string, int64_t>, size_t> last;
  for (size_t i = 0; i < reports->size(); ++i) last[{(*reports)[i].job_id, (*reports)[i].attempt}] = i;
  size_t kept = 0;
  for (size_t i = 0; i < reports->size(); ++i) {
    auto& r = (*reports)[i];
    if (r.run_state == RunStateName(RunState::kStarting) && last[{r.job_id, r.attempt}] != i) continue;
    if (kept != i) (*reports)[kept] = std::move(r);
    ++kept;
  }
  reports->resize(kept);
}

void Agent::ProcessStateEvents() {
  // Everything this turn produced goes in one request (one transaction in
  // sauron), in order.
  msg::JobReports batch;
  batch.host_id = opts_.host_id;
  while (!state_events_.empty()) {
    StateEvent ev = std::move(state_events_.front());
    state_events_.pop_front();
    auto it = jobs_.find(ev.job_id);
    if (it == jobs_.end() || it->second.attempt != ev.attempt) continue;
    counters_.Add("reports");
    spdlog::info("[{}] {} attempt {}: {} {}", opts_.host_id, ev.job_id, ev.attempt, RunStateName(ev.state), ev.detail);
    batch.reports.push_back(msg::JobReport{opts_.host_id, ev.job_id, ev.attempt, RunStateName(ev.state), ev.detail});
    if (ev.state == RunState::kStopped && it->second.workload->done()) {
      reservations_.Release(ev.job_id);
      if (journal_) (void)journal_->Remove(ev.job_id);
      sealed_envs_.erase(ev.job_id);
      jobs_.erase(it);
    } else if (ev.state == RunState::kRunning && journal_) {
      std::string d = it->second.workload->image_digest();
      if (!d.empty() && d != it->second.journal_digest) {
        it->second.journal_digest = d;
        JournalPut(it->second, sealed_envs_[ev.job_id]);
      }
    }
  }
  if (batch.reports.empty()) return;
  DropSupersededStarting(&batch.reports);
  sauron_->Request(batch, MonotonicMs(), opts_.request_timeout_ms,
                   [this](const Status& s, const std::string& payload) {
    if (!s.ok()) {
      counters_.Add("report_failed");
      return;
    }
    auto env = msg::DecodeEnvelope(payload);
    msg::ReportAcks acks;
    if (!env.ok() || !msg::DecodeBody(*env, &acks).ok()) return;  // an empty payload means "carry on"
    for (const auto& ref : acks.stop) {
      auto it = jobs_.find(ref.job_id);
      if (it != jobs_.end() && it->second.attempt == ref.attempt) StopJob(ref.job_id, "sauron: stale attempt");
    }
  });
}

void Agent::SendHeartbeat(int64_t now_ms) {
  msg::Heartbeat hb;
  hb.host_id = opts_.host_id;
  hb.free = Free();
  hb.reserved = reservations_.Reserved();
  hb.seq = ++hb_seq_;
  // A request, not a one-way message: if sauron no longer counts us as up
  // (it marked us lost, or lost its state), its refusal makes us say hello again.
  sauron_->Request(hb, now_ms, std::max(heartbeat_ms_ * 2, 200), [this](const Status& s, const std::string& payload) {
    if (s.ok()) {
      auto env = msg::DecodeEnvelope(payload);
      msg::HeartbeatAck ack;  // an older sauron answers with no body: not heard
      beacons_heard_ = env.ok() && msg::DecodeBody(*env, &ack).ok() && ack.beacons_heard;
      return;
    }
    counters_.Add("heartbeat_failed");
    if (s.code() != Status::Code::kUnavailable && welcomed_) {
      spdlog::warn("[{}] sauron refused a heartbeat ({}); saying hello again", opts_.host_id, s.message());
      welcomed_ = false;
      next_hello_ms_ = 0;
    }
  });
  next_heartbeat_ms_ = now_ms + heartbeat_ms_;
  last_hb_free_ = hb.free;
  last_hb_reserved_ = hb.reserved;
  last_hb_sent_ms_ = now_ms;
}

// Liveness is the beacons' job; a heartbeat reports resources. Sent every
// heartbeat_ms to a thousand hosts' sauron, unchanged reports were a third of
// its idle CPU. News: any change of reservations, or free RAM/disk/CPU moving
// by 1% of capacity (free RAM drifts by a few MB all the time).
bool Agent::HeartbeatHasNews(int64_t now_ms) const {
  if (!beacon_.active() || !beacons_heard_ || now_ms - last_hb_sent_ms_ >= kQuietHeartbeatMs) return true;
  msg::Resources reserved = reservations_.Reserved();
  if (reserved.ram_mb != last_hb_reserved_.ram_mb || reserved.disk_mb != last_hb_reserved_.disk_mb ||
      reserved.cpu_millis != last_hb_reserved_.cpu_millis)
    return true;
  const msg::Resources& cap = measured_.capacity;
  msg::Resources free = Free();
  auto moved = [](int64_t a, int64_t b, int64_t capacity) { return std::llabs(a - b) * 100 >= std::max<int64_t>(capacity, 1); };
  return moved(free.ram_mb, last_hb_free_.ram_mb, cap.ram_mb) || moved(free.disk_mb, last_hb_free_.disk_mb, cap.disk_mb) ||
         moved(free.cpu_millis, last_hb_free_.cpu_millis, cap.cpu_millis);
}

// Mirrors Tick: every timer it checks, and what it polls.
int64_t Agent::NextTickMs(int64_t now_ms) const {
  if (!state_events_.empty()) return now_ms;
  // A beacon watchdog, a beacon without a pump and a polled workload all want
  // Tick regularly; 10 ms is RunOnce's usual pace.
  bool regular = opts_.beacon_watchdog_ms > 0 || !opts_.beacon_pump;
  for (const auto& [id, job] : jobs_) regular = regular || job.workload->NeedsPoll();
  int64_t next = std::min(regular ? now_ms + 10 : std::numeric_limits<int64_t>::max(), next_measure_ms_);
  for (int64_t at : {relink_sauron_at_ms_, relink_elrond_at_ms_, changes_ ? changes_->resubscribe_at() : 0}) {
    if (at > 0) next = std::min(next, at);
  }
  next = std::min({next, reservations_.NextHoldExpiryMs(), sauron_->NextDeadlineMs(), elrond_->NextDeadlineMs()});
  if (sauron_connected_ && !welcomed_ && !hello_inflight_) next = std::min(next, next_hello_ms_);
  if (welcomed_) next = std::min(next, next_heartbeat_ms_);
  if (!pending_restore_.empty() && !welcomed_) next = std::min(next, restore_deadline_ms_);
  return next;
}

void Agent::Tick(int64_t now_ms) {
  if (now_ms >= next_measure_ms_) {
    auto m = resources_.Measure();
    if (m.ok()) measured_ = *m;
    next_measure_ms_ = now_ms + opts_.measure_interval_ms;
  }
  if (relink_sauron_at_ms_ > 0 && now_ms >= relink_sauron_at_ms_) {
    relink_sauron_at_ms_ = 0;
    if (Status s = MakeSauronLink(); !s.ok()) spdlog::error("[{}] {}", opts_.host_id, s.message());
  }
  if (relink_elrond_at_ms_ > 0 && now_ms >= relink_elrond_at_ms_) {
    relink_elrond_at_ms_ = 0;
    if (Status s = MakeElrondLink(); !s.ok()) spdlog::error("[{}] {}", opts_.host_id, s.message());
  }
  if (changes_) AfterChangesResubscribe(changes_->Tick(now_ms));
  beacon_.MarkAlive(now_ms);
  if (!opts_.beacon_pump) beacon_.Tick(now_ms);
  reservations_.ExpireHolds(now_ms);
  sauron_->Expire(now_ms);
  elrond_->Expire(now_ms);
  if (sauron_connected_ && !welcomed_ && !hello_inflight_ && now_ms >= next_hello_ms_) SendHello(now_ms);
  if (!pending_restore_.empty() && !welcomed_ && now_ms >= restore_deadline_ms_) StartPendingOffline(now_ms);
  if (welcomed_ && now_ms >= next_heartbeat_ms_) {
    if (HeartbeatHasNews(now_ms)) {
      SendHeartbeat(now_ms);
    } else {
      next_heartbeat_ms_ = now_ms + heartbeat_ms_;
      counters_.Add("heartbeat_quiet");
    }
  }
  for (auto& [id, job] : jobs_) job.workload->Poll(now_ms);
  ProcessStateEvents();
}

void Agent::Shutdown(int timeout_ms) {
  for (auto& [id, job] : jobs_) {
    if (!job.stopping) {
      job.stopping = true;
      job.workload->Stop(std::chrono::milliseconds(std::min(opts_.stop_grace_ms, timeout_ms)));
    }
  }
  int64_t deadline = MonotonicMs() + timeout_ms;
  while (!jobs_.empty() && MonotonicMs() < deadline) RunOnce(10);
  // Let the last reports leave.
  for (int i = 0; i < 20 && sauron_ && sauron_->pending() > 0; ++i) RunOnce(10);
  // A clean stop says so: sauron moves this host's jobs at once instead of
  // waiting out the grace it gives an agent that died (docs/SCEPTRE.md).
  if (sauron_ && welcomed_) {
    bool done = false;
    msg::HostBye bye{opts_.host_id, "strider stopped"};
    sauron_->Request(bye, MonotonicMs(), 1000, [&done](const Status&, const std::string&) { done = true; });
    for (int i = 0; i < 100 && !done; ++i) RunOnce(10);
  }
}

}  // namespace rv::strider
