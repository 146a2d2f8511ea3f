// The control plane's messages, grouped by conversation. Each struct's kType is
// the envelope's `type`. Requests (sent with a non-zero req_id) are answered by
// one Reply carrying the same req_id. More types live beside this file:
// env_config.h (admin.config_*), overlay.h (host.overlay, admin.rotate_key,
// admin.overlay).
//
//   strider  --DEALER-->  sauron ROUTER   host.hello, host.heartbeat, job.claim,
//                                         job.report, job.reports, host.overlay
//   elrond   --DEALER-->  sauron ROUTER   sched.snapshot, sched.award, sched.revoke,
//                                         sched.pending, sched.counters
//   rv (CLI) --DEALER-->  sauron ROUTER   admin.*
//   sauron   --PUB----->  subscribers     change / changes (topics: common/msg/topics.h;
//                                         event kinds: common/event_kinds.h)
//   strider  --DEALER-->  elrond ROUTER   auction.hello, auction.bid, auction.ack
//   elrond   --ROUTER-->  strider         auction.announce, auction.award
//
// All sockets use CURVE. Who may send which request to sauron is its row in
// sauron/api_table.h (roles: common/roles.h). A strider's routing id and its ZAP
// User-Id are its host id; receivers check that a message's host_id matches the
// authenticated User-Id.
#pragma once

#include <optional>

#include "common/msg/types.h"

namespace rv::msg {

// ---- Generic reply -------------------------------------------------------------
// code: 0 ok, else a Status::Code value. payload: an encoded envelope of the
// request's result type, or empty.
struct Reply {
  static constexpr const char* kType = "reply";
  int32_t code = 0;
  std::string error;
  std::string payload;
  RV_DEFINE_MAP(code, error, payload);
};

// ---- strider -> sauron ------------------------------------------------------------
struct HostHello {
  static constexpr const char* kType = "host.hello";
  std::string host_id;
  std::string address;
  Resources capacity;
  Resources free;
  std::string conn_endpoint;      // "ip:port" of this connection's local end (fast loss detection)
  std::vector<JobRef> jobs;       // what the host runs now (after a restart: what it recovered)
  bool aesni = false;             // the CPU has AES-NI (overlay AEAD choice, see common/msg/overlay.h)
  RV_DEFINE_MAP(host_id, address, capacity, free, conn_endpoint, jobs, aesni);
};
struct HostWelcome {
  static constexpr const char* kType = "host.welcome";
  int32_t heartbeat_ms = 1000;
  std::map<std::string, std::string> labels;
  std::vector<JobRecord> keep;    // placed here: run (or keep running) these
  std::vector<JobRef> stop;       // no longer this host's (fenced): stop these
  // Liveness beacons (see sauron/beacon.h): UDP datagrams to sauron's API
  // address at beacon_port, every beacon_ms, authenticated with beacon_key (16
  // bytes, SipHash) under the session id. 0 = do not send beacons.
  int32_t beacon_port = 0;
  int32_t beacon_ms = 0;
  uint32_t beacon_session = 0;
  std::string beacon_key;
  // job id -> that job's environment config sealed to this host's key (as in a
  // claim's Outcome.sealed_env), for the `keep` jobs a restarted host starts.
  std::map<std::string, std::string> sealed_envs;
  RV_DEFINE_MAP(heartbeat_ms, labels, keep, stop, beacon_port, beacon_ms, beacon_session, beacon_key,
                sealed_envs);
};
// A strider that stops cleanly says so: sauron marks the host lost at once
// (its jobs move now), instead of giving it the grace an agent that died gets
// to come back (docs/SCEPTRE.md). Reply: empty.
struct HostBye {
  static constexpr const char* kType = "host.bye";
  std::string host_id;
  std::string reason;
  RV_DEFINE_MAP(host_id, reason);
};
// sceptre's report of a host's boot (what it found, cleaned, restarted and
// fenced), recorded in sauron's event log as host.recovered. Reply: empty.
struct HostRecovery {
  static constexpr const char* kType = "host.recovery";
  std::string host_id;
  std::string summary;
  RV_DEFINE_MAP(host_id, summary);
};
struct Heartbeat {  // a request: the reply says whether the host is still up
  static constexpr const char* kType = "host.heartbeat";
  std::string host_id;
  Resources free;
  Resources reserved;
  int64_t seq = 0;
  RV_DEFINE_MAP(host_id, free, reserved, seq);
};
// sauron's answer to a heartbeat. beacons_heard: the host's liveness beacons
// arrive, so its silence is judged by them and it may send heartbeats only
// when its resources change. A host whose beacons do not arrive (UDP filtered)
// keeps heartbeating every heartbeat_ms: the backstop judges it.
struct HeartbeatAck {
  static constexpr const char* kType = "host.heartbeat.ack";
  bool beacons_heard = false;
  RV_DEFINE_MAP(beacons_heard);
};
// The strider's commit point for an award: awarded(attempt, this host) -> placed.
// Only a successful claim lets a strider start the workload, so a job revoked
// while its award was in flight can never run twice.
struct ClaimRequest {
  static constexpr const char* kType = "job.claim";
  std::string host_id;
  std::vector<JobRef> claims;
  RV_DEFINE_MAP(host_id, claims);
};
struct Outcome {
  // Constructors keep the brace-initialization of the fields before sealed_env
  // valid (and -Wmissing-field-initializers quiet).
  Outcome() = default;
  Outcome(std::string job, int64_t att, bool ok_, std::string why, std::string sealed = "")
      : job_id(std::move(job)), attempt(att), ok(ok_), reason(std::move(why)), sealed_env(std::move(sealed)) {}
  std::string job_id;
  int64_t attempt = 0;
  bool ok = false;
  std::string reason;
  // job.claim replies only: the job's environment config (vars and secrets),
  // crypto_box_seal'ed to the claiming host's key; "" = none.
  std::string sealed_env;
  RV_DEFINE_MAP(job_id, attempt, ok, reason, sealed_env);
};
struct Outcomes {  // reply payload of job.claim, sched.award, sched.revoke
  static constexpr const char* kType = "outcomes";
  std::vector<Outcome> results;
  RV_DEFINE_MAP(results);
};
struct JobReport {
  static constexpr const char* kType = "job.report";
  std::string host_id;
  std::string job_id;
  int64_t attempt = 0;
  std::string run_state;   // starting | running | unhealthy | exited | failed | stopped
  std::string detail;
  RV_DEFINE_MAP(host_id, job_id, attempt, run_state, detail);
};
// Reply payload of job.report: stop=true means the job is no longer this
// host's (a stale attempt); the strider must stop it.
struct ReportAck {
  static constexpr const char* kType = "job.report_ack";
  bool stop = false;
  RV_DEFINE_MAP(stop);
};
// What a strider's loop turn produced, in one request and one transaction:
// a flood of starts is two reports per job, and one transaction each was most
// of sauron's work. Reply payload: ReportAcks.
struct JobReports {
  static constexpr const char* kType = "job.reports";
  std::string host_id;
  std::vector<JobReport> reports;  // each report's host_id must be host_id
  RV_DEFINE_MAP(host_id, reports);
};
struct ReportAcks {
  static constexpr const char* kType = "job.report_acks";
  std::vector<JobRef> stop;        // attempts that are no longer this host's: stop them
  RV_DEFINE_MAP(stop);
};

// ---- elrond -> sauron -------------------------------------------------------------
struct SnapshotRequest {
  static constexpr const char* kType = "sched.snapshot";
  bool include_placed = true;
  RV_DEFINE_MAP(include_placed);
};
struct Snapshot {
  static constexpr const char* kType = "sched.snapshot_result";
  int64_t seq = 0;                 // change-stream seq the snapshot is consistent with
  std::vector<HostRecord> hosts;
  std::vector<JobRecord> jobs;     // every job not stopped
  // env -> the AEADs its overlay keys use now, comma separated (see
  // common/event_kinds.h, kOverlayAead); envs without a network are absent.
  std::map<std::string, std::string> env_aeads;
  RV_DEFINE_MAP(seq, hosts, jobs, env_aeads);
};
struct AwardIntent {
  std::string job_id;
  int64_t attempt = 0;             // the job's current attempt (CAS); awarded as attempt+1
  std::string host_id;
  RV_DEFINE_MAP(job_id, attempt, host_id);
};
struct AwardRecordRequest {        // reply payload: Outcomes (attempt = the new attempt)
  static constexpr const char* kType = "sched.award";
  std::vector<AwardIntent> awards;
  RV_DEFINE_MAP(awards);
};
struct RevokeRequest {             // awarded(attempt) -> pending; reply payload: Outcomes
  static constexpr const char* kType = "sched.revoke";
  std::vector<JobRef> items;
  std::string reason;
  RV_DEFINE_MAP(items, reason);
};
struct PendingReason {
  std::string job_id;
  std::string reason;
  RV_DEFINE_MAP(job_id, reason);
};
struct PendingReasonsRequest {     // records why pending jobs are still pending
  static constexpr const char* kType = "sched.pending";
  std::vector<PendingReason> items;
  RV_DEFINE_MAP(items);
};

struct SchedCounters {             // elrond's counters, for `rv counters` (one-way state, replaced each time)
  static constexpr const char* kType = "sched.counters";
  std::map<std::string, int64_t> counters;
  RV_DEFINE_MAP(counters);
};

// ---- rv (operator / customer CLI) -> sauron -------------------------------------
struct EnrollHost {
  static constexpr const char* kType = "admin.enroll";
  std::string host_id;
  std::string public_key;
  std::map<std::string, std::string> labels;
  Resources max_capacity;
  RV_DEFINE_MAP(host_id, public_key, labels, max_capacity);
};
struct DrainHost {
  static constexpr const char* kType = "admin.drain";
  std::string host_id;
  bool drain = true;
  RV_DEFINE_MAP(host_id, drain);
};
struct SubmitJobs {                // reply payload: JobIds
  static constexpr const char* kType = "admin.submit";
  std::vector<JobSpec> jobs;
  RV_DEFINE_MAP(jobs);
};
struct JobIds {
  static constexpr const char* kType = "job_ids";
  std::vector<std::string> ids;
  RV_DEFINE_MAP(ids);
};
struct StopJobs {
  static constexpr const char* kType = "admin.stop";
  std::vector<std::string> job_ids;
  RV_DEFINE_MAP(job_ids);
};
struct ListRequest {               // reply payload: Listing
  static constexpr const char* kType = "admin.list";
  std::string what;                // hosts | jobs | events | counters
  int32_t limit = 1000;
  int64_t after_seq = 0;           // events: only newer than this
  bool newest = false;             // events: the newest `limit` of those (still oldest first)
  RV_DEFINE_MAP(what, limit, after_seq, newest);
};
struct Listing {
  static constexpr const char* kType = "listing";
  std::vector<HostRecord> hosts;
  std::vector<JobRecord> jobs;
  std::vector<Event> events;
  std::map<std::string, int64_t> counters;
  RV_DEFINE_MAP(hosts, jobs, events, counters);
};

// ---- sauron change stream (PUB) --------------------------------------------------
// Frames: [topic = event.kind][Change]. `seq` is gapless; a subscriber that sees
// a gap (it was slow or reconnected) re-reads state with sched.snapshot/admin.list.
struct Change {
  static constexpr const char* kType = "change";
  Event event;
  std::optional<HostRecord> host;  // host.* events
  std::optional<JobRecord> job;    // job.* events
  RV_DEFINE_MAP(event, host, job);
};

// Topic "feed/": every event in seq order, the changes of one commit (up to
// ChangeStream's batch limit) in one message, for watchers that take every
// kind (elrond): one encryption and one message per commit, not per event.
struct Changes {
  static constexpr const char* kType = "changes";
  std::vector<Change> changes;
  RV_DEFINE_MAP(changes);
};

// ---- elrond <-> strider ----------------------------------------------------------
struct StriderHello {  // one-way, on every (re)connect
  static constexpr const char* kType = "auction.hello";
  std::string host_id;
  RV_DEFINE_MAP(host_id);
};
// What a bidder needs to know of a job: never its config or secrets.
struct AnnouncedJob {
  std::string job_id;
  int64_t attempt = 0;
  std::string kind;
  std::string service;
  Resources resources;
  PlacementRules rules;
  bool needs_container = false;    // the job runs an image: hosts without a container runtime decline it
  // The job's environment and the AEADs its overlay uses now (comma
  // separated, "" = no network yet). needs_aesni: one of them is AES-256-GCM,
  // so a host without AES-NI declines (its overlayd could not open the env).
  std::string env;
  std::string env_aead;
  bool needs_aesni = false;
  RV_DEFINE_MAP(job_id, attempt, kind, service, resources, rules, needs_container, env, env_aead, needs_aesni);
};
struct Announce {
  static constexpr const char* kType = "auction.announce";
  int64_t auction_id = 0;
  int32_t deadline_ms = 0;         // bids later than this after sending are ignored
  std::vector<AnnouncedJob> jobs;
  RV_DEFINE_MAP(auction_id, deadline_ms, jobs);
};
struct Decline {
  std::string job_id;
  std::string reason;
  RV_DEFINE_MAP(job_id, reason);
};
// One bid answers a whole batch: the host's free resources after its own
// reservations, its score, and the jobs it will not take and why.
struct Bid {
  static constexpr const char* kType = "auction.bid";
  int64_t auction_id = 0;
  std::string host_id;
  Resources free;
  Resources capacity;
  double score = 0;                // 0..1, higher = more room (free fraction)
  std::vector<Decline> declines;
  RV_DEFINE_MAP(auction_id, host_id, free, capacity, score, declines);
};
struct AwardedJob {
  JobSpec spec;
  int64_t attempt = 0;
  RV_DEFINE_MAP(spec, attempt);
};
// An Award with no jobs tells a bidder it won nothing in that auction, so it can
// drop its tentative hold at once. auction_id 0: an award made outside any open
// auction (elrond's fallback after an ack timeout); no hold to convert.
struct Award {
  static constexpr const char* kType = "auction.award";
  int64_t auction_id = 0;
  std::string host_id;
  std::vector<AwardedJob> jobs;
  RV_DEFINE_MAP(auction_id, host_id, jobs);
};
struct Ack {
  static constexpr const char* kType = "auction.ack";
  std::string host_id;
  std::vector<Outcome> results;    // ok=false: refused (reason), elrond re-auctions
  RV_DEFINE_MAP(host_id, results);
};

}  // namespace rv::msg
