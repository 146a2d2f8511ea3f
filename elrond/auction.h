// AuctionEngine: elrond's scheduler state machine. It reconciles the jobs
// sauron says should run (desired) with what is awarded and placed (actual) by
// running batched auctions among the pod's hosts.
//
// Life of a job: queued -> (batch) announced -> awarded -> placed, or back to
// queued on a refused ack / ack timeout / revoke, or unplaceable (pending with
// a reason, retried when capacity appears and every retry_pending_ms).
//
// An auction:
//  1. Queued jobs are cut into batches of up to batch_max, flushed after
//     batch_delay_ms. One Announce (encoded once) goes to every live, undrained
//     host, or to a sample of them (see docs/SCHEDULER.md). A host takes part
//     in at most one open auction at a time, so its bid (and the tentative hold
//     its strider takes) is never distorted by another open auction; auctions
//     over disjoint samples run concurrently.
//  2. It closes when every addressed host bid or the bid deadline passed.
//     Late bids are counted and ignored, but refresh the host's view.
//  3. Jobs are placed biggest first against the bidders' effective free
//     (ledger.h) with the rules of placement.h; every award of the auction is
//     recorded in sauron with one compare-and-set request *before* any Award is
//     sent, so a crash never leaves an award sauron does not know of.
//  4. One Award per winning host carries all its jobs; a bidder that won
//     nothing gets an empty Award so it can drop its tentative hold at once.
//  5. Ack ok -> done. Refused -> revoke (CAS) and re-auction. No ack within
//     ack_timeout_ms -> revoke (CAS; losing to a claim is fine: the job is
//     placed) and award to the next-best bidder if it still fits, else
//     re-auction.
//
// Restart: jobs sauron holds as `awarded` that this engine did not award are
// revoked after ack_timeout_ms unless the strider claims them first.
//
// Every input from a strider is checked (sender = claimed host, auction known
// and open, host addressed, no duplicate, job awarded to that host at that
// attempt); a violation is counted under its reason and logged, never fatal.
//
// Time is passed in (now_ms) and all I/O goes through the Outbox (striders) and
// Registry (sauron) interfaces, so tests drive the engine with fakes.
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/counters.h"
#include "common/msg/protocol.h"
#include "common/status.h"
#include "elrond/ledger.h"
#include "elrond/placement.h"

namespace rv::elrond {

// Messages to striders. Multicast sends the same encoded bytes to many hosts
// (the real link shares one buffer); `reached[i]` says whether hosts[i] got it.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void Multicast(const std::vector<std::string>& hosts, const std::string& bytes,
                         std::vector<char>* reached) = 0;
  virtual bool Send(const std::string& host, const std::string& bytes) = 0;
};

// Requests to sauron (synchronous; a failure is Unavailable or a rejection).
class Registry {
 public:
  virtual ~Registry() = default;
  virtual Result<msg::Outcomes> RecordAwards(const msg::AwardRecordRequest& req) = 0;
  virtual Result<msg::Outcomes> Revoke(const msg::RevokeRequest& req) = 0;
  virtual Status RecordPending(const msg::PendingReasonsRequest& req) = 0;
};

struct EngineOptions {
  int bid_deadline_ms = 50;      // the shortest an auction waits for bids
  int max_bid_deadline_ms = 1000;  // the longest (see BidDeadlineMs)
  int ack_timeout_ms = 1000;
  int batch_max = 512;
  int batch_delay_ms = 1;
  int sample_hosts = 0;      // 0 = announce to every live host
  int sample_random = -1;    // extra random hosts per sample; -1 = max(2, sample_hosts / 8)
  int offers_per_job = 0;    // sampled auctions: hosts each job is offered to (0 = the whole sample)
  int retry_pending_ms = 2000;
  int retry_debounce_ms = 20;
  Strategy strategy = Strategy::kBinpack;
  uint32_t seed = 1;
};
EngineOptions OptionsFromConfig(const ElrondConfig& cfg);

struct EngineStats {
  int64_t open_auctions = 0;
  int64_t queued = 0, announced = 0, awarded = 0, placed = 0, unplaceable = 0, orphans = 0, uncertain = 0;
  int64_t hosts_up = 0;
};

class AuctionEngine {
 public:
  AuctionEngine(EngineOptions opts, Outbox* outbox, Registry* registry, Counters* counters);

  // ---- state from sauron ----
  // Replaces everything known with a consistent snapshot, keeping open auctions
  // and outstanding awards that the snapshot confirms.
  void ApplySnapshot(const msg::Snapshot& snap, int64_t now_ms);
  void ApplyHost(const msg::HostRecord& rec, int64_t now_ms);
  void ApplyJob(const msg::JobRecord& rec, int64_t now_ms);
  void ApplyChange(const msg::Change& change, int64_t now_ms);
  // Set when the engine lost track of sauron's state (an award request with an
  // unknown outcome, an unexplained CAS failure): the owner should take a new
  // snapshot and call ApplySnapshot, which clears it.
  bool needs_resync() const { return needs_resync_; }

  // ---- messages from striders; `user` is the ZAP User-Id of the sender ----
  void OnHello(const std::string& user, const msg::StriderHello& m, int64_t now_ms);
  void OnBid(const std::string& user, const msg::Bid& m, int64_t now_ms);
  void OnAck(const std::string& user, const msg::Ack& m, int64_t now_ms);

  // Runs timers: batch flush, auction deadlines, ack timeouts, orphan revokes,
  // pending retries, pending-reason records.
  void Tick(int64_t now_ms);
  // When Tick next has something to do (<= now_ms + 1000).
  int64_t NextWakeMs(int64_t now_ms) const;

  // Called with (host id, public key, true) for every enrolled host key seen and
  // (host id, old key, false) when a key is replaced or its host disappears, so
  // the owner can keep the ZAP allow-list in step with sauron.
  using HostKeyFn = std::function<void(const std::string&, const std::string&, bool)>;
  void OnHostKey(HostKeyFn fn) { on_host_key_ = std::move(fn); }

  // How long the next auction waits for bids at most: twice the recent slow
  // bid round trip, within [bid_deadline_ms, max_bid_deadline_ms]. An auction
  // still closes as soon as every addressed host has bid, so a longer deadline
  // only costs when a host stays silent.
  //
  // Why adaptive: on a loaded pod, bids that miss a fixed deadline send their
  // jobs back to be announced again (to another sample, then to every host),
  // which loads the hosts more and makes the next bids later still; measured
  // at 1000 simulated hosts, 4,000 jobs caused 680,000 job announcements and
  // a quarter were never placed. Waiting as long as bids actually take breaks
  // that loop; the floor keeps a quiet pod fast.
  int BidDeadlineMs() const;

  EngineStats Stats() const;
  // Announce-to-award latencies (ms) of jobs awarded so far (bounded ring).
  const std::vector<double>& award_latencies_ms() const { return latencies_; }
  // Placement rules view of a host (tests and diagnostics).
  const HostView* host(const std::string& id) const;
  const Ledger& ledger() const { return ledger_; }
  // The sauron state and local phase of a job ("" if unknown).
  std::string JobPhase(const std::string& id) const;
  std::string JobHost(const std::string& id) const;
  std::string JobReason(const std::string& id) const;

 private:
  enum class Phase { kQueued, kAnnounced, kAwarded, kOrphan, kUnplaceable, kPlaced, kUncertain };
  struct Job {
    msg::JobSpec spec;
    std::string state;           // sauron's: pending | awarded | placed
    int64_t attempt = 0;
    std::string host;            // host whose resources the job holds ("" none)
    Phase phase = Phase::kQueued;
    int64_t auction_id = 0;
    int64_t deadline_ms = 0;     // kAwarded: ack deadline; kOrphan: revoke time
    std::vector<std::string> fallbacks;
    bool acked = false;
    bool full_announce = false;  // failed in a sampled auction: next time ask everyone
    int sample_misses = 0;       // sampled auctions it failed in while sampled hosts were silent
    std::string reason;          // last pending reason recorded in sauron
    int64_t queued_ms = 0;
    std::set<std::string> avoid; // hosts that refused it or never acked; cleared when unplaceable
  };
  struct Host {
    HostView view;
    std::string public_key;
    msg::Resources max_capacity;
    bool reachable = true;       // false after a send failed, until it speaks again
    int64_t busy_auction = 0;    // the open auction it is addressed in (0 = none)
    int64_t slow_until_ms = 0;   // missed a bid deadline: sampled after responsive hosts until then
  };
  struct Participant {
    bool answered = false;
    std::vector<msg::Decline> declines;
  };
  struct Auction {
    int64_t id = 0;
    int64_t opened_ms = 0;
    int64_t deadline_ms = 0;
    bool sampled = false;
    std::vector<std::string> jobs;
    // Partitioned (see PartitionBatch): job -> the hosts it was offered to.
    // Empty: every addressed host was offered every job.
    std::unordered_map<std::string, std::vector<std::string>> offered;
    std::unordered_map<std::string, Participant> hosts;
    size_t answered = 0;
  };

  // Job bookkeeping.
  Job* FindJob(const std::string& id);
  void Assign(const std::string& job_id, Job& job, const std::string& host, int64_t reflected_from);
  void Unassign(const std::string& job_id, Job& job, int64_t now_ms);
  void Enqueue(const std::string& job_id, Job& job, int64_t now_ms);
  void RemoveJob(const std::string& job_id, int64_t now_ms);
  void AdoptRecord(const msg::JobRecord& rec, Job& job, int64_t now_ms, bool from_snapshot);
  void SetUnplaceable(const std::string& job_id, Job& job, const std::string& reason, int64_t now_ms);
  void TriggerRetry(int64_t now_ms);
  // Whether `free` holds the resources of some job that found no host.
  bool RoomForAnUnplaceable(const msg::Resources& free) const;

  // Auctions.
  bool OpenAuction(int64_t now_ms);
  // The hosts an auction of `jobs` addresses (sampling.h, ChooseSample).
  std::vector<std::string> ChooseSample(const std::vector<std::string>& jobs, const std::vector<std::string>& idle,
                                        int64_t now_ms);
  void CloseAuction(int64_t auction_id, int64_t now_ms);
  // Which of the sampled `hosts` each job of `batch` is offered to
  // (sampling.h, PartitionBatch). Returns job indices per host.
  std::vector<std::vector<size_t>> PartitionBatch(const std::vector<std::string>& batch,
                                                  const std::vector<std::string>& hosts);
  // Records `intents` in sauron and sends the Awards; returns the jobs awarded.
  void CommitAwards(int64_t auction_id, std::vector<msg::AwardIntent>& intents,
                    std::map<std::string, std::vector<std::string>>* fallbacks, int64_t opened_ms, int64_t now_ms);
  void RevokeJobs(const std::vector<std::string>& job_ids, const std::string& reason, bool try_fallback,
                  int64_t now_ms);
  void ExpireTimers(int64_t now_ms);
  void FlushPendingReasons();
  void HostGone(const std::string& host_id, int64_t now_ms);
  void Reject(const char* counter, const std::string& what);
  void RefreshView(Host& h);
  void ObserveBidLatency(double ms);
  // An empty Award: `host` won nothing in `auction_id` and drops its hold now.
  void SendNothingWon(const std::string& host, int64_t auction_id);

  EngineOptions opts_;
  Outbox* outbox_;
  Registry* registry_;
  Counters* counters_;
  HostKeyFn on_host_key_;

  std::unordered_map<std::string, Job> jobs_;
  // env -> the AEADs its overlay uses (sauron's overlay.aead events and
  // Snapshot.env_aeads): announced with its jobs so hosts without AES-NI
  // decline an AES-256-GCM environment.
  std::map<std::string, std::string> env_aeads_;
  std::unordered_map<std::string, Host> hosts_;
  std::deque<std::string> queue_;                  // may hold stale ids; phase decides
  std::map<int64_t, Auction> open_;
  int64_t next_auction_id_ = 1;
  Ledger ledger_;
  ZoneCounts zones_;
  // Min-heap of (deadline, job id) for ack timeouts and orphan revokes; entries
  // are re-checked against the job when they fire.
  std::priority_queue<std::pair<int64_t, std::string>, std::vector<std::pair<int64_t, std::string>>,
                      std::greater<>> timers_;
  std::map<std::string, std::string> pending_reasons_;  // to record in sauron
  int64_t retry_due_ms_ = 0;                             // 0 = none scheduled
  int64_t next_periodic_retry_ms_ = 0;
  bool needs_resync_ = false;
  bool queue_blocked_ = false;                           // waiting for hosts to leave open auctions
  std::set<std::string> unplaceable_;
  std::mt19937 rng_;
  std::vector<double> latencies_;
  double slow_bid_ms_ = 0;                    // decaying maximum of bid round trips
  std::map<int64_t, int64_t> closed_opened_ms_;  // recently closed auction -> when it opened
  size_t latency_next_ = 0;
};

}  // namespace rv::elrond
