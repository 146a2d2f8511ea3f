#include "sauron/store.h"

#include <arpa/inet.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>

#include "common/event_kinds.h"
#include "common/states.h"
#include "common/clock.h"
#include "common/console_job.h"
#include "common/roles.h"
#include "common/names.h"
#include "common/utf8.h"
#include "common/transport/keys.h"
#include "sauron/checkpointer.h"
#include "sauron/sqlite_exec.h"

namespace rv::sauron {
namespace {

constexpr int kSchemaVersion = 1;

bool SameResources(const msg::Resources& a, const msg::Resources& b) {
  return a.ram_mb == b.ram_mb && a.disk_mb == b.disk_mb && a.cpu_millis == b.cpu_millis;
}
constexpr size_t kMaxSpecBytes = 64 * 1024;
constexpr size_t kMaxJobsPerSubmit = 50000;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hosts (
  id TEXT PRIMARY KEY,
  address TEXT NOT NULL DEFAULT '',
  public_key TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  capacity TEXT NOT NULL DEFAULT '{}',
  max_capacity TEXT NOT NULL DEFAULT '{}',
  free TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL DEFAULT 'enrolled',
  drained INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  spec BLOB NOT NULL,
  service TEXT NOT NULL DEFAULT '',
  env TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  host_id TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  run_state TEXT NOT NULL DEFAULT '',
  run_detail TEXT NOT NULL DEFAULT '',
  updated_ms INTEGER NOT NULL DEFAULT 0
);
-- Every index on a column a transition writes costs each transition a delete
-- and an insert in that index. Only a host's live jobs are looked up by host
-- (hello, host lost); by state only at start, which may scan. (Databases of
-- earlier versions had jobs_state and jobs_host(host_id, state).)
DROP INDEX IF EXISTS jobs_state;
DROP INDEX IF EXISTS jobs_host;
CREATE INDEX IF NOT EXISTS jobs_live_on_host ON jobs(host_id) WHERE state IN ('awarded', 'placed');
CREATE INDEX IF NOT EXISTS jobs_service ON jobs(service);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  host_id TEXT NOT NULL DEFAULT '',
  job_id TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT ''
);
)sql";

const char* kJobCols = "spec, state, attempt, host_id, reason, run_state, run_detail, updated_ms";

std::string ResToJson(const msg::Resources& r) {
  return nlohmann::json{{"ram_mb", r.ram_mb}, {"disk_mb", r.disk_mb}, {"cpu_millis", r.cpu_millis}}.dump();
}

msg::Resources ResFromJson(const std::string& text) {
  msg::Resources r;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return r;
  r.ram_mb = j.value("ram_mb", int64_t{0});
  r.disk_mb = j.value("disk_mb", int64_t{0});
  r.cpu_millis = j.value("cpu_millis", int64_t{0});
  return r;
}

std::string LabelsToJson(const std::map<std::string, std::string>& m) { return nlohmann::json(m).dump(); }

std::map<std::string, std::string> LabelsFromJson(const std::string& text) {
  std::map<std::string, std::string> m;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return m;
  for (auto& [k, v] : j.items()) {
    if (v.is_string()) m[k] = v.get<std::string>();
  }
  return m;
}

std::string PackSpec(const msg::JobSpec& spec) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, spec);
  return std::string(buf.data(), buf.size());
}

bool UnpackSpec(const void* data, size_t size, msg::JobSpec* out) {
  try {
    auto oh = msgpack::unpack(static_cast<const char*>(data), size);
    oh.get().convert(*out);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// A capacity as reported, clamped field by field to the operator's ceiling.
msg::Resources Clamp(const msg::Resources& r, const msg::Resources& max) {
  msg::Resources out = r;
  if (max.ram_mb > 0 && out.ram_mb > max.ram_mb) out.ram_mb = max.ram_mb;
  if (max.disk_mb > 0 && out.disk_mb > max.disk_mb) out.disk_mb = max.disk_mb;
  if (max.cpu_millis > 0 && out.cpu_millis > max.cpu_millis) out.cpu_millis = max.cpu_millis;
  return out;
}

bool NonNegative(const msg::Resources& r) { return r.ram_mb >= 0 && r.disk_mb >= 0 && r.cpu_millis >= 0; }

msg::Outcome Refuse(const std::string& job_id, int64_t attempt, std::string reason) {
  return msg::Outcome{job_id, attempt, false, std::move(reason)};
}

// A batch item naming a job that does not exist is refused; any other read error fails the batch.
Result<msg::Outcome> RefuseIfMissing(const Status& read, const std::string& job_id, int64_t attempt) {
  if (read.code() == Status::Code::kNotFound) return Refuse(job_id, attempt, read.message());
  return read;
}

msg::Outcome Accept(const std::string& job_id, int64_t attempt, std::string reason = "") {
  return msg::Outcome{job_id, attempt, true, std::move(reason)};
}

// Why a CAS on a job failed, in words an operator can act on.
std::string Mismatch(const msg::JobRecord& j, const std::string& want_state, int64_t want_attempt) {
  if (j.state != want_state) {
    return "job is " + j.state + (j.host_id.empty() ? "" : " on " + j.host_id) + ", not " + want_state;
  }
  return "stale attempt " + std::to_string(want_attempt) + ": job is at attempt " + std::to_string(j.attempt);
}

// job.submitted's detail: the job's kind. A console job's also names the user
// it runs for and its command line (the last argument: the ones before it are
// the launcher's), so the event log is the console's audit trail.
std::string SubmittedDetail(const msg::JobSpec& s) {
  if (s.kind != kConsoleJobKind) return s.kind;
  auto user = s.config.find(kRunUserVar);
  return s.kind + (user == s.config.end() ? std::string() : " for " + PrintableAscii(user->second, 64)) + ": " +
         PrintableAscii(s.command.empty() ? std::string() : s.command.back(), 256);
}

}  // namespace

// ---- SQLite helpers ---------------------------------------------------------------

class Store::Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(s_); }
  // Runs a statement that returns no rows.
  Status Run() {
    int rc = Step();
    sqlite3_reset(s_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Status::Io(std::string("sqlite: ") + sqlite3_errmsg(db_));
    return Status::Ok();
  }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, sqlite3_column_bytes(s_, col)) : std::string();
  }
  const void* Blob(int col) { return sqlite3_column_blob(s_, col); }
  int Bytes(int col) { return sqlite3_column_bytes(s_, col); }
  std::string Error() const { return std::string("sqlite: ") + sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// One write transaction. Commit() publishes its events; destruction without a
// commit rolls back and forgets them. Inside a group (BeginGroup) it is a
// savepoint: Commit() releases it and its events wait for EndGroup; a
// rollback undoes only this transaction's writes and events.
class Store::Txn {
 public:
  explicit Txn(Store* s) : s_(s), nested_(s->group_open_), mark_(s->pending_.size()) {
    if (!nested_) {
      status_ = s_->Run("BEGIN IMMEDIATE");
      return;
    }
    // The group's database transaction begins with its first write, so a
    // group of heartbeats (memory only) costs no BEGIN and COMMIT.
    if (!s_->group_begun_) {
      status_ = s_->Run("BEGIN IMMEDIATE");
      if (!status_.ok()) return;
      s_->group_begun_ = true;
    }
    status_ = s_->Run("SAVEPOINT txn");
  }
  ~Txn() {
    if (done_) return;
    if (status_.ok()) {
      if (nested_) {
        (void)s_->Run("ROLLBACK TO txn");
        (void)s_->Run("RELEASE txn");
      } else {
        (void)s_->Run("ROLLBACK");
      }
    }
    s_->DropPending(mark_);
  }
  const Status& status() const { return status_; }
  Status Commit() {
    if (nested_) {
      if (Status r = s_->Run("RELEASE txn"); !r.ok()) return r;  // the destructor rolls back
      done_ = true;
      s_->KeepInGroup();
      return Status::Ok();
    }
    Status c = s_->Run("COMMIT");
    if (!c.ok()) return c;  // the destructor rolls back
    done_ = true;
    s_->Publish();
    return Status::Ok();
  }

 private:
  Store* s_;
  const bool nested_;
  const size_t mark_;  // pending_ events before this transaction
  Status status_;
  bool done_ = false;
};

Status Store::Run(const char* sql) { return Prepare(sql).Run(); }

// ---- group commit -----------------------------------------------------------------

Status Store::BeginGroup() {
  group_open_ = true;
  return Status::Ok();
}

Status Store::EndGroup() {
  if (!group_open_) return Status::Ok();
  group_open_ = false;
  if (!group_begun_) return Status::Ok();  // nothing was written
  group_begun_ = false;
  Status c = Run("COMMIT");
  if (c.ok()) {
    Publish();
    return Status::Ok();
  }
  // Nothing of the group is durable: roll back, forget its events, and
  // reload the job cache, which may hold the group's writes.
  spdlog::error("group commit failed, {} events rolled back: {}", pending_.size(), c.message());
  (void)Run("ROLLBACK");
  pending_.clear();
  txn_jobs_.clear();
  group_jobs_.clear();
  ForgetAll();
  if (Status l = LoadJobs(); !l.ok()) spdlog::critical("reloading jobs after a failed commit: {}", l.message());
  return c;
}

void Store::KeepInGroup() {
  for (auto& [id, j] : txn_jobs_) group_jobs_[id] = std::move(j);
  txn_jobs_.clear();
}

void Store::DropPending(size_t mark) {
  if (pending_.size() > mark) pending_.resize(mark);
  txn_jobs_.clear();
}

Store::Stmt& Store::Prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second->Reset();
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    // Our SQL is fixed; failing to prepare it is a programming error.
    spdlog::critical("sqlite prepare failed: {} ({})", sqlite3_errmsg(db_), sql);
    std::abort();
  }
  auto& slot = stmts_[sql];
  slot = std::make_unique<Stmt>(db_, s);
  return *slot;
}

Status Store::Exec(const char* sql) { return SqliteExec(db_, sql); }

std::string Store::JournalMode() {
  auto& q = Prepare("PRAGMA journal_mode");
  std::string mode = q.Step() == SQLITE_ROW ? q.Text(0) : "";
  q.Reset();
  return mode;
}

// ---- open -------------------------------------------------------------------------

Store::Store(sqlite3* db) : db_(db) {}

Store::~Store() {
  (void)FlushHosts();
  checkpointer_.reset();  // before the close, which then runs the last checkpoint
  stmts_.clear();
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::Io("cannot open database " + path + ": " + m);
  }
  std::unique_ptr<Store> store(new Store(db));
  if (Status s = store->Init(); !s.ok()) return Status::Io("database " + path + ": " + s.message());
  auto mode = store->JournalMode();
  if (mode == "wal") {
    auto c = Checkpointer::Start(path, db, kWalCheckpointPages);
    if (!c.ok()) return c.status();
    store->checkpointer_ = std::move(*c);
  }
  return store;
}

Status Store::Init() {
  sqlite3_busy_timeout(db_, 5000);
  // WAL + NORMAL: a commit is durable against a process crash at once and
  // against power loss at the next checkpoint, at a fraction of FULL's cost.
  if (Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  if (Status s = Exec("PRAGMA synchronous=NORMAL"); !s.ok()) return s;
  if (Status s = Exec("PRAGMA foreign_keys=OFF"); !s.ok()) return s;
  // A bigger page cache and fewer, larger checkpoints: batches of transitions
  // touch the same pages again and again. The Checkpointer (started by Open)
  // takes the checkpoints off this thread; this is the setting until then.
  if (Status s = Exec("PRAGMA cache_size=-65536"); !s.ok()) return s;
  if (Status s = Exec(("PRAGMA wal_autocheckpoint=" + std::to_string(kWalCheckpointPages)).c_str()); !s.ok()) {
    return s;
  }
  if (Status s = Exec("PRAGMA temp_store=MEMORY"); !s.ok()) return s;
  if (Status s = Exec(kSchema); !s.ok()) return s;
  auto& get = Prepare("SELECT value FROM meta WHERE key='schema_version'");
  int version = 0;
  if (get.Step() == SQLITE_ROW) version = std::atoi(get.Text(0).c_str());
  get.Reset();
  if (version == 0) {
    auto& put = Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)");
    if (Status s = put.Bind(1, std::to_string(kSchemaVersion)).Run(); !s.ok()) return s;
  } else if (version > kSchemaVersion) {
    return Status::Invalid("schema version " + std::to_string(version) + " is newer than this sauron (" +
                           std::to_string(kSchemaVersion) + ")");
  }
  auto& seq = Prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (seq.Step() == SQLITE_ROW) last_seq_ = seq.Int(0);
  seq.Reset();
  std::random_device rd;
  id_counter_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  if (Status s = LoadHosts(); !s.ok()) return s;
  return LoadJobs();
}

Status Store::LoadJobs() {
  auto all = ListJobs({job_state::kPending, job_state::kAwarded, job_state::kPlaced}, 0);
  if (!all.ok()) return all.status();
  for (auto& j : *all) Commit(std::move(j));
  return Status::Ok();
}

void Store::Commit(msg::JobRecord j) {
  const std::string id = j.spec.id;
  if (auto it = jobs_.find(id); it != jobs_.end()) {
    // A job's spec does not change, but keep the indexes right if it did.
    if (it->second.spec.env != j.spec.env || it->second.spec.kind != j.spec.kind) Forget(id);
  }
  env_index_[j.spec.env].insert(id);
  kind_index_[j.spec.kind].insert(id);
  jobs_[id] = std::move(j);
}

void Store::Forget(const std::string& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  const auto& spec = it->second.spec;
  for (auto [index, key] : {std::pair{&env_index_, &spec.env}, std::pair{&kind_index_, &spec.kind}}) {
    auto e = index->find(*key);
    if (e == index->end()) continue;
    e->second.erase(id);
    if (e->second.empty()) index->erase(e);
  }
  jobs_.erase(it);
}

void Store::ForgetAll() {
  jobs_.clear();
  env_index_.clear();
  kind_index_.clear();
}

Status Store::LoadHosts() {
  auto& q = Prepare(
      "SELECT id, address, public_key, labels, capacity, max_capacity, free, state, drained, last_seen_ms "
      "FROM hosts");
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    msg::HostRecord h;
    h.id = q.Text(0);
    h.address = q.Text(1);
    h.public_key = q.Text(2);
    h.labels = LabelsFromJson(q.Text(3));
    h.capacity = ResFromJson(q.Text(4));
    h.max_capacity = ResFromJson(q.Text(5));
    h.free = ResFromJson(q.Text(6));
    h.state = q.Text(7);
    h.drained = q.Int(8) != 0;
    h.last_seen_ms = q.Int(9);
    hosts_[h.id] = std::move(h);
  }
  std::string err = q.Error();
  q.Reset();
  if (rc != SQLITE_DONE) return Status::Io(err);
  return Status::Ok();
}

// ---- events -----------------------------------------------------------------------

Status Store::AddEvent(const std::string& kind, const std::string& host_id, const std::string& job_id,
                       int64_t attempt, const std::string& detail, int64_t now_ms, const msg::HostRecord* host,
                       const msg::JobRecord* job) {
  auto& ins = Prepare("INSERT INTO events(ts_ms, kind, host_id, job_id, attempt, detail) VALUES(?,?,?,?,?,?)");
  Status s = ins.Bind(1, now_ms).Bind(2, kind).Bind(3, host_id).Bind(4, job_id).Bind(5, attempt).Bind(6, detail).Run();
  if (!s.ok()) return s;
  msg::Change c;
  c.event = msg::Event{sqlite3_last_insert_rowid(db_), now_ms, kind, host_id, job_id, attempt, detail};
  if (host) c.host = *host;
  if (job) c.job = *job;
  pending_.push_back(std::move(c));
  return Status::Ok();
}

void Store::Publish() {
  KeepInGroup();
  for (auto& [id, j] : group_jobs_) {
    if (j.state == job_state::kStopped) {
      Forget(id);
    } else {
      Commit(std::move(j));
    }
  }
  group_jobs_.clear();
  std::vector<msg::Change> done;
  done.swap(pending_);
  for (auto& c : done) {
    last_seq_ = c.event.seq;
    if (sink_) sink_(c);
  }
}

Status Store::AppendEvent(const std::string& kind, const std::string& host_id, const std::string& job_id,
                          int64_t attempt, const std::string& detail, int64_t now_ms) {
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  const msg::HostRecord* h = FindHost(host_id);
  if (Status s = AddEvent(kind, host_id, job_id, attempt, detail, now_ms, h, nullptr); !s.ok()) return s;
  return txn.Commit();
}

Result<std::vector<msg::Event>> Store::ListEvents(int64_t after_seq, int limit, bool newest) {
  if (limit <= 0 || limit > 100000) limit = 100000;
  auto& q = Prepare(newest ? "SELECT * FROM (SELECT seq, ts_ms, kind, host_id, job_id, attempt, detail FROM events "
                             "WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"
                           : "SELECT seq, ts_ms, kind, host_id, job_id, attempt, detail FROM events WHERE seq > ? "
                             "ORDER BY seq LIMIT ?");
  q.Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
  std::vector<msg::Event> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.push_back(msg::Event{q.Int(0), q.Int(1), q.Text(2), q.Text(3), q.Text(4), q.Int(5), q.Text(6)});
  }
  std::string err = q.Error();
  q.Reset();
  if (rc != SQLITE_DONE) return Status::Io(err);
  return out;
}

// ---- hosts ------------------------------------------------------------------------

bool Store::ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') return false;
  }
  return true;
}

const msg::HostRecord* Store::FindHost(const std::string& host_id) const {
  auto it = hosts_.find(host_id);
  return it == hosts_.end() ? nullptr : &it->second;
}

std::vector<msg::HostRecord> Store::Hosts() const {
  std::vector<msg::HostRecord> out;
  out.reserve(hosts_.size());
  for (auto& [id, h] : hosts_) out.push_back(h);
  return out;
}

Status Store::PutHost(const msg::HostRecord& h) {
  auto& q = Prepare(
      "INSERT OR REPLACE INTO hosts(id, address, public_key, labels, capacity, max_capacity, free, state, "
      "drained, last_seen_ms) VALUES(?,?,?,?,?,?,?,?,?,?)");
  return q.Bind(1, h.id)
      .Bind(2, h.address)
      .Bind(3, h.public_key)
      .Bind(4, LabelsToJson(h.labels))
      .Bind(5, ResToJson(h.capacity))
      .Bind(6, ResToJson(h.max_capacity))
      .Bind(7, ResToJson(h.free))
      .Bind(8, h.state)
      .Bind(9, int64_t{h.drained ? 1 : 0})
      .Bind(10, h.last_seen_ms)
      .Run();
}

Status Store::EnrollHost(const msg::EnrollHost& req) {
  if (!ValidId(req.host_id) || req.host_id.size() > 64) {
    return Status::Invalid("invalid host id '" + req.host_id.substr(0, 64) +
                           "' (1-64 chars: letters, digits, - _ . :, starting with a letter or digit)");
  }
  if (IsReservedKeyName(req.host_id)) {
    return Status::Invalid("host id '" + req.host_id + "' is reserved");
  }
  if (!transport::IsValidZ85Key(req.public_key)) {
    return Status::Invalid("public key of host " + req.host_id + " is not a 40-char Z85 CURVE key");
  }
  if (!NonNegative(req.max_capacity)) return Status::Invalid("max_capacity must not be negative");
  if (req.labels.size() > 64) return Status::Invalid("too many labels (max 64)");
  for (auto& [k, v] : req.labels) {
    if (k.empty() || k.size() > 64 || v.size() > 256) return Status::Invalid("label '" + k.substr(0, 64) + "' too long or empty");
    // Stored as JSON (LabelsToJson), which holds only UTF-8.
    if (!IsUtf8(k) || !IsUtf8(v)) return Status::Invalid("label " + names::Quote(k, 64) + " is not UTF-8 text");
    if (HasControlByte(k) || HasControlByte(v)) return Status::Invalid("label " + names::Quote(k, 64) + " holds a control character");
  }
  for (auto& [id, h] : hosts_) {
    if (id != req.host_id && h.public_key == req.public_key) {
      return Status::Conflict("public key " + transport::KeyFingerprint(req.public_key) +
                              " is already enrolled as host " + id);
    }
  }
  msg::HostRecord h;
  if (auto* old = FindHost(req.host_id)) {
    h = *old;
    if (h.public_key == req.public_key && h.labels == req.labels && h.max_capacity.ram_mb == req.max_capacity.ram_mb &&
        h.max_capacity.disk_mb == req.max_capacity.disk_mb && h.max_capacity.cpu_millis == req.max_capacity.cpu_millis) {
      return Status::Ok();  // re-enrolling the same thing changes nothing
    }
  } else {
    h.id = req.host_id;
    h.state = host_state::kEnrolled;
  }
  h.public_key = req.public_key;
  h.labels = req.labels;
  h.max_capacity = req.max_capacity;
  h.capacity = Clamp(h.capacity, h.max_capacity);
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  if (Status s = PutHost(h); !s.ok()) return s;
  if (Status s = AddEvent(event_kind::kHostEnrolled, h.id, "", 0, "key " + transport::KeyFingerprint(h.public_key), WallMs(),
                          &h, nullptr);
      !s.ok())
    return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  hosts_[h.id] = h;
  return Status::Ok();
}

Status Store::DrainHost(const std::string& host_id, bool drain) {
  const msg::HostRecord* old = FindHost(host_id);
  if (!old) return Status::NotFound("no host " + host_id.substr(0, 128));
  if (old->drained == drain) return Status::Ok();
  msg::HostRecord h = *old;
  h.drained = drain;
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  if (Status s = PutHost(h); !s.ok()) return s;
  if (Status s = AddEvent(event_kind::kHostDrained, h.id, "", 0, drain ? "drained" : "undrained", WallMs(), &h, nullptr); !s.ok())
    return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  hosts_[h.id] = h;
  return Status::Ok();
}

Result<msg::HostWelcome> Store::HostUp(const msg::HostHello& hello, int64_t now_ms) {
  const msg::HostRecord* old = FindHost(hello.host_id);
  if (!old) return Status::NotFound("host " + hello.host_id.substr(0, 128) + " is not enrolled");
  if (hello.address.size() > 256) return Status::Invalid("address too long");
  // Every host that shares an env with this one gets ADDRESS:PORT as its
  // overlay peer, and the edge routes to it: one host's bad address would make
  // each peer's overlayd refuse its whole config. "" is a host without one yet.
  if (in_addr a{}; !hello.address.empty() && inet_pton(AF_INET, hello.address.c_str(), &a) != 1) {
    return Status::Invalid("address " + names::Quote(hello.address, 64) + " is not an IPv4 address");
  }
  if (!NonNegative(hello.capacity) || !NonNegative(hello.free)) return Status::Invalid("negative resources");
  msg::HostRecord h = *old;
  bool was_up = h.state == host_state::kUp;
  h.address = hello.address;
  h.capacity = Clamp(hello.capacity, h.max_capacity);
  // A host cannot have more free than its (clamped) capacity, whatever it says.
  h.free = Clamp(hello.free, h.capacity);
  h.state = host_state::kUp;
  h.last_seen_ms = now_ms;

  msg::HostWelcome welcome;
  welcome.labels = h.labels;
  std::set<std::pair<std::string, int64_t>> mine;  // (job, attempt) awarded or placed here
  {
    auto& q = Prepare(
        "SELECT id, spec, state, attempt, host_id, reason, run_state, run_detail, updated_ms FROM jobs "
        "WHERE host_id = ? AND state IN ('awarded', 'placed')");
    q.Bind(1, h.id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      msg::JobRecord j;
      if (!UnpackSpec(q.Blob(1), q.Bytes(1), &j.spec)) continue;
      j.state = q.Text(2);
      j.attempt = q.Int(3);
      j.host_id = q.Text(4);
      j.reason = q.Text(5);
      j.run_state = q.Text(6);
      j.run_detail = q.Text(7);
      j.updated_ms = q.Int(8);
      mine.insert({q.Text(0), j.attempt});
      if (j.state == job_state::kPlaced) welcome.keep.push_back(std::move(j));
    }
    std::string err = q.Error();
    q.Reset();
    if (rc != SQLITE_DONE) return Status::Io(err);
  }
  for (const auto& ref : hello.jobs) {
    if (!mine.count({ref.job_id, ref.attempt})) welcome.stop.push_back(ref);
  }

  if (was_up && h.address == old->address && SameResources(h.capacity, old->capacity)) {
    // A repeated hello that changes nothing others care about (a reconnect)
    // is neither a write nor an event, so a chatty host cannot flood the log.
    hosts_[h.id] = h;
    dirty_hosts_[h.id] = true;
    return welcome;
  }
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  if (Status s = PutHost(h); !s.ok()) return s;
  std::string detail = (was_up ? "hello again" : "hello") + std::string(" from ") + hello.conn_endpoint.substr(0, 64);
  if (Status s = AddEvent(event_kind::kHostUp, h.id, "", 0, detail, now_ms, &h, nullptr); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  hosts_[h.id] = h;
  dirty_hosts_.erase(h.id);
  return welcome;
}

Status Store::Heartbeat(const std::string& host_id, const msg::Resources& free, int64_t now_ms) {
  auto it = hosts_.find(host_id);
  if (it == hosts_.end()) return Status::NotFound("no host " + host_id.substr(0, 128));
  if (it->second.state != host_state::kUp) return Status::Conflict("host " + host_id + " is " + it->second.state + ", not up");
  if (!NonNegative(free)) return Status::Invalid("negative resources");
  msg::Resources clamped = Clamp(free, it->second.capacity);
  bool changed = !SameResources(clamped, it->second.free);
  it->second.free = clamped;
  it->second.last_seen_ms = now_ms;
  bool& dirty = dirty_hosts_[host_id];  // false: only last_seen is newer than the row
  dirty = dirty || changed;
  return Status::Ok();
}

void Store::RefreshLastSeen(int64_t now_ms) {
  for (auto& [id, h] : hosts_) {
    if (h.state == host_state::kUp) {
      h.last_seen_ms = now_ms;
      dirty_hosts_[id] = true;
    }
  }
}

Status Store::FlushHosts() { return WriteHosts(true); }

Status Store::FlushChangedHosts(int64_t now_ms) {
  bool everything = now_ms >= next_last_seen_flush_ms_;
  if (everything) next_last_seen_flush_ms_ = now_ms + kLastSeenFlushMs;
  return WriteHosts(everything);
}

Status Store::WriteHosts(bool everything) {
  bool any = false;
  for (const auto& [id, changed] : dirty_hosts_) any = any || everything || changed;
  if (!any) return Status::Ok();
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  auto& q = Prepare("UPDATE hosts SET free = ?, last_seen_ms = ? WHERE id = ?");
  for (auto it = dirty_hosts_.begin(); it != dirty_hosts_.end(); ++it) {
    if (!everything && !it->second) continue;
    auto h = hosts_.find(it->first);
    if (h == hosts_.end()) continue;
    if (Status s = q.Reset().Bind(1, ResToJson(h->second.free)).Bind(2, h->second.last_seen_ms).Bind(3, it->first).Run();
        !s.ok())
      return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  for (auto it = dirty_hosts_.begin(); it != dirty_hosts_.end();) {
    it = everything || it->second ? dirty_hosts_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

Status Store::MarkHostLost(const std::string& host_id, const std::string& why) {
  const msg::HostRecord* old = FindHost(host_id);
  if (!old) return Status::NotFound("no host " + host_id.substr(0, 128));
  if (old->state != host_state::kUp) return Status::Ok();  // already lost or never came up
  int64_t now = WallMs();
  msg::HostRecord h = *old;
  h.state = host_state::kLost;
  std::string reason = "host " + host_id + " lost";
  std::vector<msg::JobRecord> jobs;
  {
    auto& q = Prepare(
        "SELECT id, spec, state, attempt, host_id, reason, run_state, run_detail, updated_ms FROM jobs "
        "WHERE host_id = ? AND state IN ('awarded', 'placed')");
    q.Bind(1, host_id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      msg::JobRecord j;
      if (!UnpackSpec(q.Blob(1), q.Bytes(1), &j.spec)) j.spec.id = q.Text(0);
      j.spec.id = q.Text(0);
      j.attempt = q.Int(3);
      j.state = job_state::kPending;
      j.reason = reason;
      j.updated_ms = now;
      jobs.push_back(std::move(j));
    }
    std::string err = q.Error();
    q.Reset();
    if (rc != SQLITE_DONE) return Status::Io(err);
  }
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  if (Status s = PutHost(h); !s.ok()) return s;
  if (Status s = AddEvent(event_kind::kHostLost, h.id, "", 0, why, now, &h, nullptr); !s.ok()) return s;
  for (const auto& j : jobs) {
    if (Status s = WriteJobState(j); !s.ok()) return s;
    if (Status s = AddEvent(event_kind::kJobPending, host_id, j.spec.id, j.attempt, reason, now, nullptr, &j); !s.ok()) return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  hosts_[h.id] = h;
  dirty_hosts_.erase(h.id);
  return Status::Ok();
}

// ---- jobs -------------------------------------------------------------------------

Result<msg::JobRecord> Store::ReadJob(const std::string& job_id) {
  if (auto it = txn_jobs_.find(job_id); it != txn_jobs_.end()) return it->second;
  if (auto it = group_jobs_.find(job_id); it != group_jobs_.end()) return it->second;
  if (auto it = jobs_.find(job_id); it != jobs_.end()) return it->second;
  // Not cached: stopped, or absent.
  auto& q = Prepare("SELECT spec, state, attempt, host_id, reason, run_state, run_detail, updated_ms FROM jobs WHERE id = ?");
  q.Bind(1, job_id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) {
    q.Reset();
    return Status::NotFound("no job " + job_id.substr(0, 128));
  }
  if (rc != SQLITE_ROW) {
    std::string err = q.Error();
    q.Reset();
    return Status::Io(err);
  }
  msg::JobRecord j;
  bool ok = UnpackSpec(q.Blob(0), q.Bytes(0), &j.spec);
  j.spec.id = job_id;
  j.state = q.Text(1);
  j.attempt = q.Int(2);
  j.host_id = q.Text(3);
  j.reason = q.Text(4);
  j.run_state = q.Text(5);
  j.run_detail = q.Text(6);
  j.updated_ms = q.Int(7);
  q.Reset();
  if (!ok) return Status::Internal("job " + job_id + " has a corrupt spec");
  return j;
}

Result<msg::JobRecord> Store::GetJob(const std::string& job_id) { return ReadJob(job_id); }

// Writes the mutable columns of `job` (the spec never changes after submit).
Status Store::WriteJobState(const msg::JobRecord& job) {
  auto& q = Prepare(
      "UPDATE jobs SET state = ?, attempt = ?, host_id = ?, reason = ?, run_state = ?, run_detail = ?, "
      "updated_ms = ? WHERE id = ?");
  Status s = q.Bind(1, job.state)
      .Bind(2, job.attempt)
      .Bind(3, job.host_id)
      .Bind(4, job.reason)
      .Bind(5, job.run_state)
      .Bind(6, job.run_detail)
      .Bind(7, job.updated_ms)
      .Bind(8, job.spec.id)
      .Run();
  if (s.ok()) txn_jobs_[job.spec.id] = job;
  return s;
}

Status Store::ValidateSpec(const msg::JobSpec& s) {
  auto bad = [&](const std::string& why) { return Status::Invalid("job " + s.id.substr(0, 128) + ": " + why); };
  if (!ValidId(s.id)) return bad("invalid id (1-128 chars: letters, digits, - _ . :, starting with a letter or digit)");
  // proxy: an environment's proxy (docs/PROXY.md).
  if (s.kind != "deploy" && s.kind != "build" && s.kind != "console" && s.kind != "proxy") {
    return bad("kind must be deploy, build, console or proxy");
  }
  if (!NonNegative(s.resources)) return bad("negative resources");
  if (s.replica < 0) return bad("negative replica");
  if (s.strategy != "" && s.strategy != "binpack" && s.strategy != "spread") return bad("strategy must be binpack or spread");
  if (s.restart != "always" && s.restart != "on-failure" && s.restart != "never") {
    return bad("restart must be always, on-failure or never");
  }
  if (s.port < 0 || s.port > 65535 || s.health.tcp_port < 0 || s.health.tcp_port > 65535) return bad("port out of range");
  if (s.service.size() > 128 || s.tenant.size() > 128 || s.app.size() > 128 || s.env.size() > 128) {
    return bad("tenant/app/env/service names are limited to 128 chars");
  }
  // An env names config, an overlay network and paths: TENANT/ENV or ENV only.
  if (!s.env.empty()) {
    if (Status st = names::ValidateEnvRef(s.env); !st.ok()) return bad(st.message());
  }
  if (s.rules.constraints.size() > 64) return bad("too many constraints");
  // They go into the container's JSON runtime spec, which holds only UTF-8.
  for (const auto& a : s.command)
    if (!IsUtf8(a)) return bad("the command is not UTF-8 text");
  for (const auto& [k, v] : s.config)
    if (!IsUtf8(k) || !IsUtf8(v)) return bad("config var " + names::Quote(k, 64) + " is not UTF-8 text");
  if (!IsUtf8(s.image)) return bad("the image reference is not UTF-8 text");
  if (PackSpec(s).size() > kMaxSpecBytes) return bad("spec larger than 64 KiB");
  return Status::Ok();
}

std::string Store::NewJobId() {
  char buf[32];
  snprintf(buf, sizeof buf, "j-%012llx", static_cast<unsigned long long>(++id_counter_ & 0xffffffffffffULL));
  return buf;
}

Result<std::vector<std::string>> Store::SubmitJobs(std::vector<msg::JobSpec> specs, int64_t now_ms) {
  if (specs.empty()) return Status::Invalid("no jobs to submit");
  if (specs.size() > kMaxJobsPerSubmit) {
    return Status::Invalid("too many jobs in one request (" + std::to_string(specs.size()) + ", max " +
                           std::to_string(kMaxJobsPerSubmit) + ")");
  }
  std::set<std::string> seen;
  for (auto& s : specs) {
    if (s.id.empty()) {
      do s.id = NewJobId();
      while (seen.count(s.id));
    }
    if (Status st = ValidateSpec(s); !st.ok()) return st;
    if (!seen.insert(s.id).second) return Status::Conflict("duplicate job id " + s.id + " in the request");
  }
  Txn txn(this);
  if (!txn.status().ok()) return txn.status();
  auto& exists = Prepare("SELECT 1 FROM jobs WHERE id = ?");
  for (auto& s : specs) {
    if (jobs_.count(s.id) || group_jobs_.count(s.id)) return Status::Conflict("job " + s.id + " already exists");
    int rc = exists.Reset().Bind(1, s.id).Step();
    exists.Reset();
    if (rc == SQLITE_ROW) return Status::Conflict("job " + s.id + " already exists");
    if (rc != SQLITE_DONE) return Status::Io(exists.Error());
  }
  auto& ins = Prepare(
      "INSERT INTO jobs(id, spec, service, env, state, host_id, attempt, reason, run_state, run_detail, updated_ms) "
      "VALUES(?,?,?,?,'pending','',0,'','','',?)");
  std::vector<std::string> ids;
  ids.reserve(specs.size());
  for (auto& s : specs) {
    if (Status st = ins.Reset().Bind(1, s.id).BindBlob(2, PackSpec(s)).Bind(3, s.service).Bind(4, s.env).Bind(5, now_ms).Run();
        !st.ok())
      return st;
    msg::JobRecord j;
    j.spec = s;
    j.state = job_state::kPending;
    j.updated_ms = now_ms;
    txn_jobs_[s.id] = j;
    if (Status st = AddEvent(event_kind::kJobSubmitted, "", s.id, 0, SubmittedDetail(s), now_ms, nullptr, &j); !st.ok()) return st;
    ids.push_back(s.id);
  }
  if (Status st = txn.Commit(); !st.ok()) return st;
  return ids;
}

namespace {
// Runs `per_item` for each item inside one transaction; a database error
// refuses the whole batch (the transaction rolls back).
template <typename Item, typename Fn, typename KeyFn, typename TxnT>
std::vector<msg::Outcome> RunBatch(TxnT& txn, const std::vector<Item>& items, Fn per_item, KeyFn key) {
  std::vector<msg::Outcome> out;
  out.reserve(items.size());
  Status err = txn.status();
  for (const auto& it : items) {
    if (!err.ok()) break;
    auto r = per_item(it);
    if (!r.ok()) {
      err = r.status();
      break;
    }
    out.push_back(*r);
  }
  if (err.ok()) err = txn.Commit();
  if (!err.ok()) {
    spdlog::error("batch of {} rolled back: {}", items.size(), err.message());
    out.clear();
    for (const auto& it : items) {
      auto [id, attempt] = key(it);
      out.push_back(Refuse(id, attempt, "internal: " + err.message()));
    }
  }
  return out;
}
}  // namespace

std::vector<msg::Outcome> Store::Award(const std::vector<msg::AwardIntent>& awards, int64_t now_ms) {
  Txn txn(this);
  return RunBatch(
      txn, awards,
      [&](const msg::AwardIntent& a) -> Result<msg::Outcome> {
        auto job = ReadJob(a.job_id);
        if (!job.ok()) return RefuseIfMissing(job.status(), a.job_id, a.attempt);
        msg::JobRecord& j = *job;
        if (j.state == job_state::kAwarded && j.attempt == a.attempt + 1 && j.host_id == a.host_id) {
          return Accept(a.job_id, j.attempt, "already awarded");  // a retried request
        }
        if (j.state != job_state::kPending || j.attempt != a.attempt) return Refuse(a.job_id, j.attempt, Mismatch(j, job_state::kPending, a.attempt));
        const msg::HostRecord* h = FindHost(a.host_id);
        if (!h) return Refuse(a.job_id, j.attempt, "no host " + a.host_id.substr(0, 128));
        if (h->state != host_state::kUp) return Refuse(a.job_id, j.attempt, "host " + a.host_id + " is " + h->state);
        if (h->drained) return Refuse(a.job_id, j.attempt, "host " + a.host_id + " is drained");
        j.state = job_state::kAwarded;
        j.attempt += 1;
        j.host_id = a.host_id;
        j.reason.clear();
        j.run_state.clear();
        j.run_detail.clear();
        j.updated_ms = now_ms;
        if (Status s = WriteJobState(j); !s.ok()) return s;
        if (Status s = AddEvent(event_kind::kJobAwarded, j.host_id, j.spec.id, j.attempt, "", now_ms, nullptr, &j); !s.ok()) return s;
        return Accept(a.job_id, j.attempt);
      },
      [](const msg::AwardIntent& a) { return std::make_pair(a.job_id, a.attempt); });
}

std::vector<msg::Outcome> Store::Revoke(const std::vector<msg::JobRef>& items, const std::string& reason,
                                        int64_t now_ms) {
  Txn txn(this);
  std::string why = reason.empty() ? "revoked" : reason.substr(0, 512);
  return RunBatch(
      txn, items,
      [&](const msg::JobRef& r) -> Result<msg::Outcome> {
        auto job = ReadJob(r.job_id);
        if (!job.ok()) return RefuseIfMissing(job.status(), r.job_id, r.attempt);
        msg::JobRecord& j = *job;
        if (j.state == job_state::kPending && j.attempt == r.attempt) return Accept(r.job_id, j.attempt, "already pending");
        if (j.state != job_state::kAwarded || j.attempt != r.attempt) return Refuse(r.job_id, j.attempt, Mismatch(j, job_state::kAwarded, r.attempt));
        std::string host = j.host_id;
        j.state = job_state::kPending;
        j.host_id.clear();
        j.reason = why;
        j.updated_ms = now_ms;
        if (Status s = WriteJobState(j); !s.ok()) return s;
        if (Status s = AddEvent(event_kind::kJobRevoked, host, j.spec.id, j.attempt, why, now_ms, nullptr, &j); !s.ok()) return s;
        return Accept(r.job_id, j.attempt);
      },
      [](const msg::JobRef& r) { return std::make_pair(r.job_id, r.attempt); });
}

std::vector<msg::Outcome> Store::Claim(const std::string& host_id, const std::vector<msg::JobRef>& claims,
                                       int64_t now_ms) {
  Txn txn(this);
  return RunBatch(
      txn, claims,
      [&](const msg::JobRef& r) -> Result<msg::Outcome> {
        auto job = ReadJob(r.job_id);
        if (!job.ok()) return RefuseIfMissing(job.status(), r.job_id, r.attempt);
        msg::JobRecord& j = *job;
        if (j.state == job_state::kPlaced && j.attempt == r.attempt && j.host_id == host_id) {
          return Accept(r.job_id, j.attempt, "already placed");  // a retried claim
        }
        if (j.state != job_state::kAwarded || j.attempt != r.attempt) return Refuse(r.job_id, j.attempt, Mismatch(j, job_state::kAwarded, r.attempt));
        if (j.host_id != host_id) return Refuse(r.job_id, j.attempt, "job is awarded to another host");
        j.state = job_state::kPlaced;
        j.reason.clear();
        j.updated_ms = now_ms;
        if (Status s = WriteJobState(j); !s.ok()) return s;
        if (Status s = AddEvent(event_kind::kJobPlaced, host_id, j.spec.id, j.attempt, "", now_ms, nullptr, &j); !s.ok()) return s;
        return Accept(r.job_id, j.attempt);
      },
      [](const msg::JobRef& r) { return std::make_pair(r.job_id, r.attempt); });
}

Result<msg::ReportAck> Store::Report(const msg::JobReport& r, int64_t now_ms) {
  auto stop = Reports({r}, now_ms);
  if (!stop.ok()) return stop.status();
  return msg::ReportAck{!stop->empty()};
}

Result<std::vector<msg::JobRef>> Store::Reports(const std::vector<msg::JobReport>& reports, int64_t now_ms) {
  for (const auto& r : reports) {
    if (!ParseRunState(r.run_state)) return Status::Invalid("unknown run_state '" + r.run_state.substr(0, 32) + "'");
  }
  std::vector<msg::JobRef> stop;
  std::optional<Txn> txn;  // begun at the first report that changes something
  for (const auto& r : reports) {
    auto job = ReadJob(r.job_id);
    if (!job.ok()) {
      if (job.status().code() == Status::Code::kNotFound) {  // unknown job: stop it
        stop.push_back(msg::JobRef{r.job_id, r.attempt});
        continue;
      }
      return job.status();
    }
    msg::JobRecord& j = *job;
    bool ours = j.host_id == r.host_id && j.attempt == r.attempt;
    if (ours && j.state == job_state::kAwarded) continue;  // claim still in flight; nothing to record
    if (!ours || j.state != job_state::kPlaced) {
      stop.push_back(msg::JobRef{r.job_id, r.attempt});
      continue;
    }
    std::string detail = r.detail.substr(0, 1024);
    if (j.run_state == r.run_state && j.run_detail == detail) continue;
    j.run_state = r.run_state;
    j.run_detail = detail;
    j.updated_ms = now_ms;
    if (!txn) {
      txn.emplace(this);
      if (!txn->status().ok()) return txn->status();
    }
    if (Status s = WriteJobState(j); !s.ok()) return s;
    std::string ev = r.run_state + (detail.empty() ? "" : ": " + detail);
    if (Status s = AddEvent(event_kind::kJobState, r.host_id, j.spec.id, j.attempt, ev, now_ms, nullptr, &j); !s.ok()) return s;
    // A detached one-off that ended has nobody to stop it (rv run stops its
    // own): stopped here, its state and log kept, its host told to clean up.
    auto detached = j.spec.config.find(kRunDetachedVar);
    if (j.spec.kind == kConsoleJobKind && detached != j.spec.config.end() && detached->second == "1" &&
        (r.run_state == "exited" || r.run_state == "failed")) {
      j.state = job_state::kStopped;
      j.reason = "the detached one-off ended";
      if (Status s = WriteJobState(j); !s.ok()) return s;
      if (Status s = AddEvent(event_kind::kJobStopped, j.host_id, j.spec.id, j.attempt, "ended (detached one-off)", now_ms,
                              nullptr, &j);
          !s.ok())
        return s;
      stop.push_back(msg::JobRef{r.job_id, r.attempt});
    }
  }
  if (txn) {
    if (Status s = txn->Commit(); !s.ok()) return s;
  }
  return stop;
}

std::vector<msg::Outcome> Store::Stop(const std::vector<std::string>& job_ids, int64_t now_ms) {
  Txn txn(this);
  return RunBatch(
      txn, job_ids,
      [&](const std::string& id) -> Result<msg::Outcome> {
        auto job = ReadJob(id);
        if (!job.ok()) return RefuseIfMissing(job.status(), id, 0);
        msg::JobRecord& j = *job;
        if (j.state == job_state::kStopped) return Accept(id, j.attempt, "already stopped");
        // host_id stays, so the host that ran it sees the stop on the change stream.
        std::string from = j.state;
        j.state = job_state::kStopped;
        j.reason = "stopped by operator";
        j.updated_ms = now_ms;
        if (Status s = WriteJobState(j); !s.ok()) return s;
        if (Status s = AddEvent(event_kind::kJobStopped, j.host_id, id, j.attempt, "was " + from, now_ms, nullptr, &j); !s.ok()) return s;
        return Accept(id, j.attempt);
      },
      [](const std::string& id) { return std::make_pair(id, int64_t{0}); });
}

std::vector<msg::Outcome> Store::SetPendingReasons(const std::vector<msg::PendingReason>& items, int64_t now_ms) {
  Txn txn(this);
  return RunBatch(
      txn, items,
      [&](const msg::PendingReason& p) -> Result<msg::Outcome> {
        auto job = ReadJob(p.job_id);
        if (!job.ok()) return RefuseIfMissing(job.status(), p.job_id, 0);
        msg::JobRecord& j = *job;
        if (j.state != job_state::kPending) return Refuse(p.job_id, j.attempt, "job is " + j.state + ", not pending");
        std::string reason = p.reason.substr(0, 1024);
        // Only a changed reason is written: elrond re-reports the same reason
        // on every retry, which must not flood the event log.
        if (j.reason == reason) return Accept(p.job_id, j.attempt, "unchanged");
        j.reason = reason;
        j.updated_ms = now_ms;
        if (Status s = WriteJobState(j); !s.ok()) return s;
        if (Status s = AddEvent(event_kind::kJobReason, "", p.job_id, j.attempt, reason, now_ms, nullptr, &j); !s.ok()) return s;
        return Accept(p.job_id, j.attempt);
      },
      [](const msg::PendingReason& p) { return std::make_pair(p.job_id, int64_t{0}); });
}

Result<std::vector<msg::JobRecord>> Store::ListJobs(const std::vector<std::string>& states, int limit) {
  if (limit <= 0 || limit > 1000000) limit = 1000000;
  std::string sql = std::string("SELECT id, ") + kJobCols + " FROM jobs";
  if (!states.empty()) {
    sql += " WHERE state IN (";
    for (size_t i = 0; i < states.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  sql += " ORDER BY id LIMIT ?";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Status::Io(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  Stmt q(db_, raw);
  int i = 1;
  for (auto& s : states) q.Bind(i++, s);
  q.Bind(i, static_cast<int64_t>(limit));
  std::vector<msg::JobRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    msg::JobRecord j;
    if (!UnpackSpec(q.Blob(1), q.Bytes(1), &j.spec)) spdlog::error("job {} has a corrupt spec", q.Text(0));
    j.spec.id = q.Text(0);
    j.state = q.Text(2);
    j.attempt = q.Int(3);
    j.host_id = q.Text(4);
    j.reason = q.Text(5);
    j.run_state = q.Text(6);
    j.run_detail = q.Text(7);
    j.updated_ms = q.Int(8);
    out.push_back(std::move(j));
  }
  if (rc != SQLITE_DONE) return Status::Io(q.Error());
  return out;
}

std::vector<msg::JobRecord> Store::Indexed(const std::unordered_map<std::string, std::set<std::string>>& index,
                                           const std::string& key, const std::string& state) const {
  std::vector<msg::JobRecord> out;
  auto e = index.find(key);
  if (e == index.end()) return out;
  for (const auto& id : e->second) {  // a set: ordered by id
    const auto& j = jobs_.at(id);
    if (j.state == state) out.push_back(j);
  }
  return out;
}

std::vector<msg::JobRecord> Store::JobsOfEnv(const std::string& env, const std::string& state) const {
  if (env.empty()) return {};
  return Indexed(env_index_, env, state);
}

std::vector<msg::JobRecord> Store::JobsOfKind(const std::string& kind, const std::string& state) const {
  return Indexed(kind_index_, kind, state);
}

Result<msg::Snapshot> Store::Snapshot(bool include_placed) {
  msg::Snapshot snap;
  // One thread owns the store, so nothing commits between these reads.
  snap.seq = last_seq_;
  snap.hosts = Hosts();
  snap.jobs.reserve(jobs_.size());
  for (auto& [id, j] : jobs_) {
    if (include_placed || j.state != job_state::kPlaced) snap.jobs.push_back(j);
  }
  std::sort(snap.jobs.begin(), snap.jobs.end(),
            [](const msg::JobRecord& a, const msg::JobRecord& b) { return a.spec.id < b.spec.id; });
  return snap;
}

}  // namespace rv::sauron
