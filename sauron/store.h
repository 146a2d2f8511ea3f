// Store: sauron's source of truth, one SQLite database in WAL mode.
//
// Contract:
//  * Every job transition (pending -> awarded -> placed -> stopped, and back to
//    pending on revoke or host loss) is a compare-and-set on (state, attempt),
//    executed in ONE transaction together with the event(s) it appends to the
//    `events` table. A transition either happens with its events or not at all.
//  * A request carrying many items (awards, claims, revokes, ...) runs in one
//    transaction and yields one Outcome per item: an item whose CAS fails is
//    refused (ok=false, reason) without affecting the others; a database error
//    rolls the whole batch back and every item is refused.
//  * After a commit, each appended event is handed to the change sink in seq
//    order, together with the host or job record it concerns. Events are never
//    deleted, so `seq` is gapless and the sink sees every seq exactly once.
//  * Host heartbeats (free resources, last_seen) are kept in memory and written
//    lazily by FlushHosts(): a heartbeat is neither an event nor a write.
//  * Group commit: between BeginGroup() and EndGroup() every transaction above
//    is a savepoint of one database transaction, so a loop turn's requests
//    cost one commit. Each keeps its all-or-nothing outcome (a failed one
//    rolls back alone), sees the writes of those before it, and its events
//    reach the sink only after EndGroup's commit; a caller must not reply to
//    a request of the group before EndGroup returned Ok. If that commit
//    fails, the whole group is undone and nothing of it is published.
//  * WAL checkpoints run on a thread of their own (checkpointer.h), never
//    inside this store's commits.
//  * Not thread-safe: one owner thread (the daemon's loop) calls everything.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/msg/protocol.h"
#include "common/status.h"

namespace rv::sauron {

class Checkpointer;

class Store {
 public:
  // WAL pages after which a checkpoint runs (on the Checkpointer's thread).
  static constexpr int kWalCheckpointPages = 4000;

  using ChangeSink = std::function<void(const msg::Change&)>;

  // Opens (creating if needed) the database at `path`.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void SetChangeSink(ChangeSink sink) { sink_ = std::move(sink); }
  // Null when the database is not in WAL mode.
  const Checkpointer* checkpointer() const { return checkpointer_.get(); }

  // Group commit (see the contract above). BeginGroup is a no-op when a group
  // is open (and costs nothing until a write); EndGroup commits and publishes,
  // or undoes everything and returns the error. Only this store's writes may happen inside a group: another
  // connection to the database would wait for its lock.
  Status BeginGroup();
  Status EndGroup();
  bool group_open() const { return group_open_; }

  // ---- hosts ----
  // Enrolls a host or updates its key, labels and capacity ceiling.
  Status EnrollHost(const msg::EnrollHost& req);
  Status DrainHost(const std::string& host_id, bool drain);
  // host.hello: the host is up; returns what it must keep running and what it
  // must stop (welcome.heartbeat_ms is left for the caller to fill).
  Result<msg::HostWelcome> HostUp(const msg::HostHello& hello, int64_t now_ms);
  // In memory only; NotFound / Conflict (host not up) are reported so the
  // caller can count them.
  Status Heartbeat(const std::string& host_id, const msg::Resources& free, int64_t now_ms);
  // up -> lost; its awarded and placed jobs go back to pending.
  Status MarkHostLost(const std::string& host_id, const std::string& why);
  // Writes the in-memory free/last_seen of every host not written since it changed.
  Status FlushHosts();
  // The same for hosts whose free resources changed; a host whose only news
  // is a later last_seen is written at most every kLastSeenFlushMs. At 1000
  // hosts, writing every heartbeat's last_seen every 5 s was a tenth of an
  // idle sauron's CPU, for a column read only from the database file (sauron
  // serves last_seen from memory and refreshes it at start).
  Status FlushChangedHosts(int64_t now_ms);
  static constexpr int64_t kLastSeenFlushMs = 60000;
  // Gives every host that is up a fresh last_seen (used at start after a crash).
  void RefreshLastSeen(int64_t now_ms);
  const msg::HostRecord* FindHost(const std::string& host_id) const;
  std::vector<msg::HostRecord> Hosts() const;

  // ---- jobs ----
  // All-or-nothing: an invalid spec or a duplicate id refuses the whole request.
  // Jobs without an id get a generated one. Returns the ids, in order.
  Result<std::vector<std::string>> SubmitJobs(std::vector<msg::JobSpec> specs, int64_t now_ms);
  std::vector<msg::Outcome> Award(const std::vector<msg::AwardIntent>& awards, int64_t now_ms);
  std::vector<msg::Outcome> Revoke(const std::vector<msg::JobRef>& items, const std::string& reason,
                                   int64_t now_ms);
  std::vector<msg::Outcome> Claim(const std::string& host_id, const std::vector<msg::JobRef>& claims,
                                  int64_t now_ms);
  // Records the run state of a placed job. Returns stop=true if the job is not
  // placed on this host at this attempt (the host must stop it).
  Result<msg::ReportAck> Report(const msg::JobReport& report, int64_t now_ms);
  // Several reports of one host in one transaction (in order; a job may appear
  // more than once). Returns the attempts the host must stop. A report with an
  // unknown run_state fails the whole request and records nothing.
  Result<std::vector<msg::JobRef>> Reports(const std::vector<msg::JobReport>& reports, int64_t now_ms);
  std::vector<msg::Outcome> Stop(const std::vector<std::string>& job_ids, int64_t now_ms);
  std::vector<msg::Outcome> SetPendingReasons(const std::vector<msg::PendingReason>& items,
                                              int64_t now_ms);

  Result<msg::JobRecord> GetJob(const std::string& job_id);
  // Jobs ordered by id; `states` empty = all states.
  Result<std::vector<msg::JobRecord>> ListJobs(const std::vector<std::string>& states, int limit);
  // One environment's committed jobs in `state` (awarded, placed, ...: not
  // stopped), ordered by id, from memory: no SQL and no spec decoding, for
  // requests asked per env and per change (host.proxy_routes, proxy_certs).
  std::vector<msg::JobRecord> JobsOfEnv(const std::string& env, const std::string& state) const;
  // Every committed job of `kind` in `state`, ordered by id, from memory (the
  // edge's routes: the env proxies, read once per edge.changed).
  std::vector<msg::JobRecord> JobsOfKind(const std::string& kind, const std::string& state) const;
  // Events after `after_seq`, oldest first: the first `limit` of them, or with
  // `newest` the last `limit` (what an operator asking for "recent events" means).
  Result<std::vector<msg::Event>> ListEvents(int64_t after_seq, int limit, bool newest = false);
  // Hosts and every job not stopped (only pending/awarded if !include_placed),
  // consistent with the returned seq.
  Result<msg::Snapshot> Snapshot(bool include_placed);
  int64_t last_seq() const { return last_seq_; }

  // Appends a standalone event (e.g. security.refused) in its own transaction.
  Status AppendEvent(const std::string& kind, const std::string& host_id, const std::string& job_id,
                     int64_t attempt, const std::string& detail, int64_t now_ms);

  // Validation shared with the API layer.
  static Status ValidateSpec(const msg::JobSpec& spec);
  static bool ValidId(const std::string& id);

 private:
  class Stmt;
  class Txn;
  explicit Store(sqlite3* db);
  Status Init();
  Status LoadHosts();
  Stmt& Prepare(const char* sql);
  Status Exec(const char* sql);
  std::string JournalMode();
  // A fixed statement through the prepared-statement cache (BEGIN, COMMIT,
  // SAVEPOINT...): parsing them on every transaction showed up in profiles.
  Status Run(const char* sql);
  // A savepoint was released: its jobs join the group's.
  void KeepInGroup();
  Status PutHost(const msg::HostRecord& h);
  Status AddEvent(const std::string& kind, const std::string& host_id, const std::string& job_id,
                  int64_t attempt, const std::string& detail, int64_t now_ms,
                  const msg::HostRecord* host, const msg::JobRecord* job);
  // Reads one job; NotFound if absent.
  Result<msg::JobRecord> ReadJob(const std::string& job_id);
  Status WriteJobState(const msg::JobRecord& job);
  void Publish();
  // Forgets the events after `mark` and the open transaction's jobs.
  void DropPending(size_t mark);
  Status LoadJobs();
  std::string NewJobId();

  sqlite3* db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null unless the database is in WAL mode
  std::map<const char*, std::unique_ptr<Stmt>> stmts_;  // keyed by the SQL literal's address
  std::map<std::string, msg::HostRecord> hosts_;
  Status WriteHosts(bool everything);
  std::map<std::string, bool> dirty_hosts_;  // host -> its free changed (else only last_seen)
  int64_t next_last_seen_flush_ms_ = 0;
  std::vector<msg::Change> pending_;  // events of the open transaction
  // Every job not stopped, as committed; the open transaction's writes sit in
  // txn_jobs_ until it commits. Saves a SELECT and a spec decode per transition.
  std::unordered_map<std::string, msg::JobRecord> jobs_;
  // jobs_' ids by env and by kind, changed only with it (Commit, Forget): a
  // read of one env's or one kind's jobs walks only those.
  std::unordered_map<std::string, std::set<std::string>> env_index_;
  std::unordered_map<std::string, std::set<std::string>> kind_index_;
  void Commit(msg::JobRecord j);
  void Forget(const std::string& id);
  void ForgetAll();
  std::vector<msg::JobRecord> Indexed(const std::unordered_map<std::string, std::set<std::string>>& index,
                                      const std::string& key, const std::string& state) const;
  std::unordered_map<std::string, msg::JobRecord> txn_jobs_;
  // Writes of the open group's released savepoints, until its commit.
  std::unordered_map<std::string, msg::JobRecord> group_jobs_;
  bool group_open_ = false;
  bool group_begun_ = false;  // the group's BEGIN ran (at its first write)
  int64_t last_seq_ = 0;
  uint64_t id_counter_ = 0;
  ChangeSink sink_;
};

}  // namespace rv::sauron
