// Agent: one host's strider: talks to sauron (hello, heartbeats, claims,
// reports, change stream) and to elrond (bids, acks), keeps the host's
// reservation ledger, and supervises the jobs it won.
//
// No globals and no threads of its own: the owner polls the agent's sockets
// (AppendPollItems / HandleReady) and calls Tick; so one process can run one
// agent (the `strider` daemon, RunOnce) or a thousand (the auction benchmark),
// each with its own sockets, routing id and CURVE key.
//
// The award protocol (see docs/STRIDER.md):
//   announce -> bid (+ tentative hold)
//   award    -> admit (binding reservation, refuse if it no longer fits)
//            -> job.claim to sauron -> start the workload only for claims that
//               succeeded -> auction.ack (ok, or refused with the reason; a
//               refused job's reservation is released at once)
// Every workload state change goes to sauron as job.report; a reply (or a
// change-stream event) saying the attempt is no longer ours stops the job.
#pragma once

#include <zmq.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/msg/protocol.h"
#include "common/transport/change_subscriber.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"
#include "strider/beacon_pump.h"
#include "strider/beacon_sender.h"
#include "strider/journal.h"
#include "strider/link.h"
#include "strider/reservations.h"
#include "strider/resources.h"
#include "strider/workload.h"

namespace rv::strider {

class AnnounceCache;

struct RestoreReport {
  int adopted = 0, pending = 0, corrupt = 0, fenced = 0, restarted = 0, offline = 0;
  int64_t adopt_ms = 0;  // journal load + adoption
};

struct AgentOptions {
  std::string host_id;
  std::string address = "127.0.0.1";         // underlay address other hosts reach us at
  transport::CurveKeypair key;
  std::string sauron_api;                    // e.g. tcp://127.0.0.1:7400
  std::string sauron_pub;                    // "" = do not watch the change stream
  std::string sauron_public_key;
  std::string elrond_endpoint;
  std::string elrond_public_key;
  std::string data_dir = ".";
  CapacityOverride capacity;
  int heartbeat_ms = 0;                      // 0 = what sauron's welcome says
  int zmtp_heartbeat_ms = 200;               // transport PING interval (0 = off)
  int zmtp_timeout_ms = 600;
  int request_timeout_ms = 5000;
  int hello_retry_ms = 1000;
  int hold_grace_ms = 200;                   // tentative hold = 2 x bid deadline + this
  int stop_grace_ms = 5000;
  int measure_interval_ms = 1000;
  // Liveness beacons leave from this pump's thread when set (the agent's own
  // Tick otherwise); it must outlive the agent. The watchdog silences them if
  // this agent's loop stops turning for that long (0 = never).
  BeaconPump* beacon_pump = nullptr;
  int beacon_watchdog_ms = 10000;
  // Without a container runtime, image jobs are declined at bid time (so they
  // land on a host that can run them) instead of failing after the award.
  bool containers = true;
  std::string no_containers_why;
  // Without a builder (or with --no-builds), build jobs are declined at bid time.
  bool builds = true;
  std::string no_builds_why;
  // Simulators only: agents of one thread share decoded announces
  // (strider/announce_cache.h). Null in a real strider.
  AnnounceCache* announce_cache = nullptr;
  // AES-256-GCM runs here (reported in host.hello; without it, jobs of an
  // environment whose overlay uses AES-256-GCM are declined at bid time).
  // --no-aesni turns it off, e.g. to test a mixed pod on one machine.
  bool aesni = true;
  // Live restore (docs/SCEPTRE.md): the journal of what this host runs, in
  // the data dir ("" = none: the simulator, tests). At Start the agent adopts
  // the journal's containers that still run; the others wait for sauron's
  // welcome (placed here: started, else fenced) for at most restore_wait_ms,
  // then start from the journal alone.
  std::string journal_dir;
  int restore_wait_ms = 5000;
  // Called once the journal is reconciled with sauron's first welcome (or
  // started offline), with what the restore did (sceptre status shows it).
  std::function<void(const RestoreReport&)> on_restored;
};


// Removes from a turn's reports each "starting" that a later report of the
// same job attempt supersedes (see ProcessStateEvents); keeps the order.
void DropSupersededStarting(std::vector<msg::JobReport>* reports);

class Agent {
 public:
  Agent(zmq::context_t& ctx, AgentOptions opts, std::shared_ptr<WorkloadFactory> factory);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Measures resources and connects. Fails on a bad option.
  Status Start();

  // Poll integration: appends this agent's sockets (always the same count,
  // kPollItems) to `items`; after zmq::poll, pass a pointer to the first of
  // them to HandleReady. Call it before every poll: Tick may replace a socket
  // (a CURVE handshake the server refused is never retried by libzmq, so the
  // agent re-creates the link after a backoff). Tick runs timers (heartbeats, holds, timeouts,
  // workload supervision) and must be called at least every few ms.
  static constexpr size_t kPollItems = 6;
  void AppendPollItems(std::vector<zmq::pollitem_t>* items);
  void HandleReady(const zmq::pollitem_t* items);
  void Tick(int64_t now_ms);
  // Sends on this agent's links so far (see Link::sends): an owner polling
  // many agents through ZMQ_FD re-checks an agent whose count moved in Tick.
  uint64_t sends() const;
  // For an owner of many agents (the pod-scale simulator), which cannot afford
  // to run every agent's Tick every few ms. NextTickMs: until when Tick has
  // nothing to do, if nothing arrives on the sockets meanwhile (call it after
  // HandleReady and Tick). sockets_version: moves whenever the agent re-makes
  // a socket, so the owner knows to fetch AppendPollItems again.
  int64_t NextTickMs(int64_t now_ms) const;
  uint64_t sockets_version() const { return sockets_version_; }
  // One poll + tick for a single-agent process.
  void RunOnce(int timeout_ms);
  // Stops every workload (SIGTERM, then SIGKILL after the grace) and waits up
  // to `timeout_ms` for them; reports what it can, then tells sauron it
  // leaves (host.bye: its jobs move at once instead of after the agent grace).
  void Shutdown(int timeout_ms);
  // Exits leaving the workloads running (an upgrade): they stay in the
  // journal and the next strider adopts them. No bye: sauron's grace covers
  // the gap.
  void Release();
  // What the last Start found in the journal (for logs, sceptre status).
  using RestoreStats = RestoreReport;
  const RestoreStats& restore_stats() const { return restore_; }

  const std::string& host_id() const { return opts_.host_id; }
  bool welcomed() const { return welcomed_; }
  // With beacons, a heartbeat whose resources moved less than this is skipped,
  // for at most kQuietHeartbeatMs (a periodic full report still goes).
  static constexpr int64_t kQuietHeartbeatMs = 30000;
  const Counters& counters() const { return counters_; }
  size_t running_jobs() const { return jobs_.size(); }
  // Journaled jobs waiting for sauron's word (live restore): their container
  // dirs are not debris (GC spares them).
  std::vector<std::string> pending_restore_jobs() const;
  msg::Resources Free() const;
  const BeaconSender& beacon() const { return beacon_; }

 private:
  struct Job {
    msg::JobSpec spec;
    int64_t attempt = 0;
    std::string journal_digest;  // image digest as last journaled
    std::unique_ptr<Workload> workload;
    bool stopping = false;
  };
  struct StateEvent {
    std::string job_id;
    int64_t attempt;
    RunState state;
    std::string detail;
  };

  void DrainSauron();
  void DrainElrond();
  void DrainMonitor(Link& link, bool is_sauron);
  void SendHello(int64_t now_ms);
  void OnWelcome(const msg::HostWelcome& w);
  void OnAnnounce(const msg::Announce& a);
  void OnAward(const msg::Award& a);
  void OnChange(const msg::Change& c);
  // `journaled`: the job's journal entry when it is being restored; left as
  // it is (no rewrite, no fsync) when it already says exactly this.
  void StartJob(const msg::JobSpec& spec, int64_t attempt, const std::map<std::string, std::string>& secrets,
                const std::string& sealed_env, const JournalEntry* journaled = nullptr);
  void RestoreFromJournal();
  void StartPendingOffline(int64_t now_ms);
  void JournalPut(const Job& job, const std::string& sealed_env);
  void StopJob(const std::string& job_id, const std::string& why);
  void FailUnopenedEnv(const std::string& job_id, int64_t attempt, const Status& why);
  void ProcessStateEvents();
  void SendHeartbeat(int64_t now_ms);
  bool HeartbeatHasNews(int64_t now_ms) const;
  void Reject(const std::string& counter, const std::string& why);
  Status MakeSauronLink();
  Status MakeElrondLink();
  void MakeChangeStream();
  void AfterChangesResubscribe(const Result<bool>& remade);
  int64_t RelinkDelay(int* failures);
  msg::Resources Base() const { return measured_.free; }

  zmq::context_t& ctx_;
  AgentOptions opts_;
  std::shared_ptr<WorkloadFactory> factory_;
  HostResources resources_;
  Measured measured_;
  Reservations reservations_;
  std::unique_ptr<Link> sauron_;
  BeaconSender beacon_;
  std::unique_ptr<Link> elrond_;
  // Re-made only after sauron refused its handshake (at the next welcome or
  // after a backoff): every re-made subscriber costs sauron a walk of its
  // whole subscription trie (libzmq's PUB removes a closed subscriber from
  // every topic), which with 1000 hosts is milliseconds of its loop per host.
  std::unique_ptr<transport::ChangeSubscriber> changes_;
  std::map<std::string, std::string> labels_;
  std::map<std::string, Job> jobs_;
  std::deque<StateEvent> state_events_;
  Counters counters_;
  std::unique_ptr<Journal> journal_;
  std::map<std::string, std::string> sealed_envs_;  // job -> its sealed box, for journal rewrites
  std::vector<JournalEntry> pending_restore_;  // journaled, not running, not yet reconciled
  int64_t restore_deadline_ms_ = 0;
  RestoreStats restore_;
  bool restore_reported_ = false;
  void ReportRestore();

  bool sauron_connected_ = false;
  bool welcomed_ = false;
  bool hello_inflight_ = false;
  std::string conn_endpoint_;
  int64_t next_hello_ms_ = 0;
  int heartbeat_ms_ = 1000;
  int64_t next_heartbeat_ms_ = 0;
  int64_t hb_seq_ = 0;
  // What the last heartbeat said, and when: with beacons proving us alive, a
  // heartbeat only goes when it has news (see HeartbeatHasNews).
  msg::Resources last_hb_free_;
  msg::Resources last_hb_reserved_;
  int64_t last_hb_sent_ms_ = 0;
  bool beacons_heard_ = false;  // sauron's last heartbeat reply said our beacons arrive
  int64_t next_measure_ms_ = 0;
  int64_t relink_sauron_at_ms_ = 0;   // 0: no relink pending
  int64_t relink_elrond_at_ms_ = 0;
  int sauron_failures_ = 0;
  int elrond_failures_ = 0;
  uint64_t sockets_version_ = 0;
};

}  // namespace rv::strider
