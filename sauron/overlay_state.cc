#include "sauron/overlay_state.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/states.h"
#include "overlay/aead.h"
#include "overlay/control.h"
#include "overlay/keyring.h"
#include "sauron/sqlite_exec.h"
#include "sauron/sqlite_txn.h"

namespace rv::sauron {
namespace {

constexpr int kMaxEnvNum = 65535;  // TUN names rvo-<n> and tables 10000+n stay valid

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::Io("overlay db: " + what + ": " + sqlite3_errmsg(db));
}

bool IsMember(const msg::JobRecord& j) {
  return j.state == job_state::kPlaced && !j.spec.env.empty() && !j.spec.image.empty() && !j.host_id.empty();
}

std::string OwnerOf(const std::string& job_id, int64_t attempt) { return job_id + "#" + std::to_string(attempt); }

}  // namespace

Result<std::unique_ptr<OverlayState>> OverlayState::Open(const std::string& db_path, OverlayOptions opts) {
  auto ipam = overlay::Ipam::Create(opts.pod_cidr, opts.env_prefix_len, opts.quarantine_ms);
  if (!ipam.ok()) return Status::Invalid("overlay: " + ipam.status().message());
  for (const auto& p : opts.gateway_ports)
    if (auto gp = overlay::ParseGatewayPort(p); !gp.ok()) return Status::Invalid("overlay: " + gp.status().message());
  auto mk = crypto::SecretBoxKey::LoadOrCreate(opts.master_key_path);
  if (!mk.ok()) return mk.status();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Status::Io("cannot open " + db_path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<OverlayState> st(new OverlayState(db, std::move(opts), std::move(*ipam), std::move(*mk)));
  if (Status s = st->Init(); !s.ok()) return s;
  return st;
}

OverlayState::~OverlayState() {
  for (auto& [_, e] : envs_)
    for (auto& k : e.keys) sodium_memzero(k.key.data(), k.key.size());
  sqlite3_close(db_);
}

Status OverlayState::Exec(const std::string& sql) { return SqliteExec(db_, sql.c_str()); }

Status OverlayState::Init() {
  Status s = Exec(
      "CREATE TABLE IF NOT EXISTS overlay_hosts (host_id TEXT PRIMARY KEY, num INTEGER NOT NULL UNIQUE,"
      " aesni INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS overlay_envs (env TEXT PRIMARY KEY, num INTEGER NOT NULL UNIQUE,"
      " aead TEXT NOT NULL, send_epoch INTEGER NOT NULL, switch_at_ms INTEGER NOT NULL DEFAULT 0,"
      " forget_at_ms INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS overlay_keys (env TEXT NOT NULL, epoch INTEGER NOT NULL,"
      " key_enc BLOB NOT NULL, aead TEXT NOT NULL DEFAULT '', PRIMARY KEY (env, epoch));"
      "CREATE TABLE IF NOT EXISTS overlay_ipam (kind TEXT NOT NULL, env_num INTEGER NOT NULL,"
      " owner TEXT NOT NULL, addr INTEGER NOT NULL, released_ms INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS overlay_addrs (job_id TEXT PRIMARY KEY, env TEXT NOT NULL,"
      " owner TEXT NOT NULL, host_id TEXT NOT NULL, attempt INTEGER NOT NULL, addr INTEGER NOT NULL);");
  if (!s.ok()) return s;
  {
    // Databases from before per-epoch AEADs: '' = the env's aead.
    bool has_aead = false;
    SqliteStatement q(db_, "PRAGMA table_info(overlay_keys)");
    while (q.Step() == SQLITE_ROW) has_aead |= q.ColBlob(1) == "aead";
    if (!has_aead) {
      if (Status as = Exec("ALTER TABLE overlay_keys ADD COLUMN aead TEXT NOT NULL DEFAULT ''"); !as.ok()) return as;
    }
  }
  {
    SqliteStatement q(db_, "SELECT host_id, num, aesni FROM overlay_hosts");
    while (q.Step() == SQLITE_ROW) {
      host_nums_[q.ColBlob(0)] = static_cast<uint32_t>(q.ColInt(1));
      aesni_[q.ColBlob(0)] = q.ColInt(2) != 0;
    }
  }
  {
    SqliteStatement q(db_, "SELECT env, num, aead, send_epoch, switch_at_ms, forget_at_ms FROM overlay_envs");
    while (q.Step() == SQLITE_ROW) {
      Env e;
      e.name = q.ColBlob(0);
      e.num = static_cast<uint32_t>(q.ColInt(1));
      e.aead = q.ColBlob(2);
      e.send_epoch = static_cast<uint32_t>(q.ColInt(3));
      e.switch_at_ms = q.ColInt(4);
      e.forget_at_ms = q.ColInt(5);
      envs_[e.name] = std::move(e);
    }
  }
  {
    SqliteStatement q(db_, "SELECT env, epoch, key_enc, aead FROM overlay_keys ORDER BY env, epoch");
    while (q.Step() == SQLITE_ROW) {
      auto it = envs_.find(q.ColBlob(0));
      if (it == envs_.end()) continue;
      auto plain = master_.Decrypt(q.ColBlob(2));
      if (!plain.ok() || plain->size() != overlay::kKeySize)
        return Status::Denied("overlay: env " + it->first + " key does not decrypt under the master key");
      EnvKeyRow k;
      k.epoch = static_cast<uint32_t>(q.ColInt(1));
      memcpy(k.key.data(), plain->data(), overlay::kKeySize);
      sodium_memzero(plain->data(), plain->size());
      std::string an = q.ColBlob(3).empty() ? it->second.aead : q.ColBlob(3);
      auto kind = overlay::ParseAead(an);
      if (!kind.ok()) return Status::Internal("overlay: env " + it->first + " epoch has AEAD '" + an + "'");
      k.aead = *kind;
      it->second.keys.push_back(k);
    }
  }
  for (const auto& [name, _] : envs_) aead_told_[name] = AeadsOf(name);
  {
    std::vector<overlay::Ipam::Record> recs;
    SqliteStatement q(db_, "SELECT kind, env_num, owner, addr, released_ms FROM overlay_ipam");
    while (q.Step() == SQLITE_ROW) {
      overlay::Ipam::Record r;
      r.kind = q.ColBlob(0);
      r.env_id = static_cast<uint32_t>(q.ColInt(1));
      r.owner = q.ColBlob(2);
      r.addr = static_cast<uint32_t>(q.ColInt(3));
      r.released_ms = q.ColInt(4);
      recs.push_back(std::move(r));
    }
    if (!recs.empty()) {
      if (Status rs = ipam_.Restore(recs); !rs.ok()) return Status::Internal("overlay ipam restore: " + rs.message());
    }
  }
  {
    SqliteStatement q(db_, "SELECT job_id, env, owner, host_id, attempt, addr FROM overlay_addrs");
    while (q.Step() == SQLITE_ROW) {
      Addr a;
      a.job_id = q.ColBlob(0);
      a.env = q.ColBlob(1);
      a.owner = q.ColBlob(2);
      a.host_id = q.ColBlob(3);
      a.attempt = q.ColInt(4);
      a.addr = static_cast<uint32_t>(q.ColInt(5));
      addrs_[a.job_id] = std::move(a);
    }
  }
  version_ = 1;
  return Status::Ok();
}

void OverlayState::Load(const std::vector<msg::JobRecord>& placed) {
  for (const auto& j : placed)
    if (IsMember(j)) members_[j.spec.id] = Member{j.spec.env, j.attempt, j.host_id};
  dirty_ = true;  // reconcile with the persisted addresses at the first Flush
}

void OverlayState::OnChange(const msg::Change& c) {
  if (!c.job) return;
  const msg::JobRecord& j = *c.job;
  auto it = members_.find(j.spec.id);
  if (IsMember(j)) {
    Member m{j.spec.env, j.attempt, j.host_id};
    if (it == members_.end() || it->second.attempt != m.attempt || it->second.host_id != m.host_id) {
      stopped_.erase(j.spec.id);
      members_[j.spec.id] = m;
      dirty_ = true;
    }
  } else if (it != members_.end() && j.attempt >= it->second.attempt) {
    members_.erase(it);
    if (j.state == job_state::kStopped) stopped_[j.spec.id] = j.attempt;
    dirty_ = true;
  }
}

Status OverlayState::OnHello(const std::string& host_id, bool aesni) {
  bool known = host_nums_.count(host_id) > 0;
  auto it = aesni_.find(host_id);
  if (known && it != aesni_.end() && it->second == aesni) return Status::Ok();
  aesni_[host_id] = aesni;
  HostNum(host_id);
  return SaveHost(host_id);
}

uint32_t OverlayState::HostNum(const std::string& host_id) {
  auto it = host_nums_.find(host_id);
  if (it != host_nums_.end()) return it->second;
  uint32_t next = 1;
  for (auto& [_, n] : host_nums_) next = std::max(next, n + 1);
  host_nums_[host_id] = next;
  if (Status s = SaveHost(host_id); !s.ok()) spdlog::error("{}", s.message());
  return next;
}

Status OverlayState::SaveHost(const std::string& host_id) {
  SqliteStatement q(db_, "INSERT OR REPLACE INTO overlay_hosts (host_id, num, aesni) VALUES (?, ?, ?)");
  q.Text(1, host_id).Int(2, host_nums_[host_id]).Int(3, aesni_[host_id] ? 1 : 0);
  if (q.Step() != SQLITE_DONE) return SqlError(db_, "save host");
  return Status::Ok();
}

Status OverlayState::SaveEnv(const Env& e) {
  SqliteSavepoint sp(db_, "env");
  if (!sp.status().ok()) return sp.status();
  {
    SqliteStatement q(db_,
           "INSERT OR REPLACE INTO overlay_envs (env, num, aead, send_epoch, switch_at_ms, forget_at_ms)"
           " VALUES (?, ?, ?, ?, ?, ?)");
    q.Text(1, e.name).Int(2, e.num).Text(3, e.aead).Int(4, e.send_epoch).Int(5, e.switch_at_ms)
        .Int(6, e.forget_at_ms);
    if (q.Step() != SQLITE_DONE) return SqlError(db_, "save env");
  }
  {
    SqliteStatement q(db_, "DELETE FROM overlay_keys WHERE env = ?");
    q.Text(1, e.name);
    if (q.Step() != SQLITE_DONE) return SqlError(db_, "delete keys");
  }
  for (const auto& k : e.keys) {
    SqliteStatement q(db_, "INSERT INTO overlay_keys (env, epoch, key_enc, aead) VALUES (?, ?, ?, ?)");
    std::string plain(reinterpret_cast<const char*>(k.key.data()), k.key.size());
    q.Text(1, e.name).Int(2, k.epoch).Blob(3, master_.Encrypt(plain)).Text(4, overlay::AeadName(k.aead));
    sodium_memzero(plain.data(), plain.size());
    if (q.Step() != SQLITE_DONE) return SqlError(db_, "save key");
  }
  return sp.Release();
}

Status OverlayState::SaveIpam() {
  SqliteSavepoint sp(db_, "ipam");
  if (!sp.status().ok()) return sp.status();
  if (Status s = Exec("DELETE FROM overlay_ipam"); !s.ok()) return s;
  for (const auto& r : ipam_.Records()) {
    SqliteStatement q(db_, "INSERT INTO overlay_ipam (kind, env_num, owner, addr, released_ms) VALUES (?, ?, ?, ?, ?)");
    q.Text(1, r.kind).Int(2, r.env_id).Text(3, r.owner).Int(4, r.addr).Int(5, r.released_ms);
    if (q.Step() != SQLITE_DONE) return SqlError(db_, "save ipam");
  }
  if (Status s = Exec("DELETE FROM overlay_addrs"); !s.ok()) return s;
  for (const auto& [_, a] : addrs_) {
    SqliteStatement q(db_, "INSERT INTO overlay_addrs (job_id, env, owner, host_id, attempt, addr) VALUES (?, ?, ?, ?, ?, ?)");
    q.Text(1, a.job_id).Text(2, a.env).Text(3, a.owner).Text(4, a.host_id).Int(5, a.attempt)
        .Int(6, a.addr);
    if (q.Step() != SQLITE_DONE) return SqlError(db_, "save addrs");
  }
  return sp.Release();
}

Result<OverlayState::Env*> OverlayState::EnsureEnv(const std::string& name, const std::vector<msg::HostRecord>& hosts,
                                                   int64_t now_ms) {
  auto it = envs_.find(name);
  if (it != envs_.end()) return &it->second;
  uint32_t num = 1;
  for (auto& [_, e] : envs_) num = std::max(num, e.num + 1);
  if (num > kMaxEnvNum) return Status::Unavailable("overlay: no environment number left");
  if (auto sub = ipam_.AllocateSubnet(num, now_ms); !sub.ok()) return sub.status();
  overlay::AeadKind kind = Choose(name, hosts);
  Env e;
  e.name = name;
  e.num = num;
  e.aead = overlay::AeadName(kind);
  overlay::EnvKey k = overlay::NewEnvKey(num, 1, kind);
  e.keys.push_back(EnvKeyRow{1, k.key, kind});
  sodium_memzero(k.key.data(), k.key.size());
  e.send_epoch = 1;
  if (Status s = SaveEnv(e); !s.ok()) return s;
  spdlog::info("overlay: environment {} is #{} ({}), subnet {}", name, num, e.aead,
               overlay::FormatPrefix(*ipam_.SubnetOf(num)));
  Env* out = &(envs_[name] = std::move(e));
  NoteAeads(name);
  return out;
}

bool OverlayState::HasAesni(const std::string& host_id) const {
  auto a = aesni_.find(host_id);
  return a != aesni_.end() && a->second;
}

overlay::AeadKind OverlayState::Choose(const std::string& env, const std::vector<msg::HostRecord>& hosts) const {
  // AES-GCM only if every host that is up (those that may get the env's next
  // container) and every host that runs one now has AES-NI: a host without
  // it could not open the env.
  bool all = true;
  int up = 0;
  for (const auto& h : hosts) {
    if (h.state != host_state::kUp) continue;
    ++up;
    all &= HasAesni(h.id);
  }
  for (const auto& [_, m] : members_)
    if (m.env == env) all &= HasAesni(m.host_id);
  for (const auto& h : HostsOf(env)) all &= HasAesni(h);
  return overlay::ChooseAead(all && up > 0);
}

std::string OverlayState::AeadsOf(const std::string& env) const {
  auto it = envs_.find(env);
  if (it == envs_.end()) return "";
  std::set<std::string> names;
  for (const auto& k : it->second.keys) names.insert(overlay::AeadName(k.aead));
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::map<std::string, std::string> OverlayState::EnvAeads() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, _] : envs_) out[name] = AeadsOf(name);
  return out;
}

void OverlayState::NoteAeads(const std::string& env) { aead_dirty_.insert(env); }

std::map<std::string, std::string> OverlayState::TakeAeadChanges() {
  std::map<std::string, std::string> out;
  for (const auto& env : aead_dirty_) {
    std::string now = AeadsOf(env);
    auto& told = aead_told_[env];
    if (told == now) continue;
    told = now;
    out[env] = now;
  }
  aead_dirty_.clear();
  return out;
}

std::string OverlayState::ClaimRefusal(const std::string& host_id, const std::string& env) const {
  if (env.empty()) return "";
  auto it = envs_.find(env);
  if (it == envs_.end()) return "";
  for (const auto& k : it->second.keys) {
    if (k.aead != overlay::AeadKind::kAes256Gcm || HasAesni(host_id)) continue;
    return "no AES-NI on host " + host_id + " for environment " + env + "'s AES-256-GCM (epoch " +
           std::to_string(k.epoch) + ")";
  }
  return "";
}

Result<std::set<std::string>> OverlayState::Flush(const std::vector<msg::HostRecord>& hosts, int64_t now_ms) {
  std::set<std::string> changed;
  changed.swap(announce_);
  if (!dirty_ && lingering_ == 0) return changed;
  dirty_ = false;
  std::set<std::string> touched_envs;
  // Gone or moved: release (into quarantine); stopped: after linger_ms.
  lingering_ = 0;
  for (auto it = addrs_.begin(); it != addrs_.end();) {
    auto m = members_.find(it->first);
    bool keep = m != members_.end() && m->second.attempt == it->second.attempt &&
                m->second.host_id == it->second.host_id && m->second.env == it->second.env;
    if (keep) {
      it->second.linger_until_ms = 0;
      ++it;
      continue;
    }
    auto st = stopped_.find(it->first);
    if (m == members_.end() && st != stopped_.end() && st->second == it->second.attempt && opts_.linger_ms > 0) {
      if (it->second.linger_until_ms == 0) it->second.linger_until_ms = now_ms + opts_.linger_ms;
      if (now_ms < it->second.linger_until_ms) {
        ++lingering_;
        ++it;
        continue;
      }
    }
    if (st != stopped_.end()) stopped_.erase(st);
    auto e = envs_.find(it->second.env);
    if (e != envs_.end()) (void)ipam_.ReleaseAddress(e->second.num, it->second.owner, now_ms);
    touched_envs.insert(it->second.env);
    changed.insert(it->second.host_id);
    it = addrs_.erase(it);
  }
  for (auto it = stopped_.begin(); it != stopped_.end();)  // stopped before it ever had an address
    it = addrs_.count(it->first) ? std::next(it) : stopped_.erase(it);
  // New: allocate.
  for (const auto& [job, m] : members_) {
    if (addrs_.count(job)) continue;
    auto env = EnsureEnv(m.env, hosts, now_ms);
    if (!env.ok()) {
      spdlog::error("overlay: no network for {}: {}", job, env.status().message());
      continue;
    }
    std::string owner = OwnerOf(job, m.attempt);
    auto a = ipam_.AllocateAddress((*env)->num, owner, now_ms);
    if (!a.ok()) {
      spdlog::error("overlay: no address for {} in {}: {}", job, m.env, a.status().message());
      continue;
    }
    HostNum(m.host_id);
    addrs_[job] = Addr{m.env, owner, m.host_id, job, m.attempt, *a};
    touched_envs.insert(m.env);
    spdlog::info("overlay: {} attempt {} on {} is {} in {}", job, m.attempt, m.host_id, overlay::FormatAddr(*a), m.env);
  }
  if (touched_envs.empty()) return changed;
  if (Status s = SaveIpam(); !s.ok()) return s;
  // Every host of a touched environment sees a new route table.
  for (const auto& env : touched_envs)
    for (const auto& h : HostsOf(env)) changed.insert(h);
  ++version_;
  return changed;
}

std::set<std::string> OverlayState::HostsOf(const std::string& env) const {
  std::set<std::string> out;
  for (const auto& [_, a] : addrs_)
    if (a.env == env) out.insert(a.host_id);
  return out;
}

Result<std::set<std::string>> OverlayState::Tick(int64_t now_ms) {
  std::set<std::string> changed;
  for (auto& [name, e] : envs_) {
    bool touched = false;
    if (e.switch_at_ms != 0 && now_ms >= e.switch_at_ms) {
      e.send_epoch = e.keys.back().epoch;
      e.aead = overlay::AeadName(e.keys.back().aead);
      e.switch_at_ms = 0;
      e.forget_at_ms = now_ms + opts_.key_grace_ms;
      touched = true;
      spdlog::info("overlay: {} senders switch to epoch {}", name, e.send_epoch);
    } else if (e.switch_at_ms == 0 && e.forget_at_ms != 0 && now_ms >= e.forget_at_ms) {
      while (e.keys.size() > 1) {
        sodium_memzero(e.keys.front().key.data(), overlay::kKeySize);
        e.keys.erase(e.keys.begin());
      }
      e.forget_at_ms = 0;
      touched = true;
      NoteAeads(name);
      spdlog::info("overlay: {} old epochs dropped, epoch {} only", name, e.send_epoch);
    }
    if (!touched) continue;
    if (Status s = SaveEnv(e); !s.ok()) return s;
    for (const auto& h : HostsOf(name)) changed.insert(h);
  }
  if (!changed.empty()) ++version_;
  return changed;
}

Result<msg::RotateKeyResult> OverlayState::Rotate(const std::string& env, const std::vector<msg::HostRecord>& hosts,
                                                  int64_t now_ms, const std::string& forced_aead) {
  auto it = envs_.find(env);
  if (it == envs_.end()) return Status::NotFound("environment '" + env + "' has no overlay network (no container ran yet)");
  Env& e = it->second;
  Result<overlay::AeadKind> kind = Choose(env, hosts);
  if (!forced_aead.empty()) {
    kind = overlay::ParseAead(forced_aead);
    if (!kind.ok()) return Status::Invalid("--aead: " + kind.status().message());
    if (*kind == overlay::AeadKind::kAes256Gcm) {
      for (const auto& h : HostsOf(env))
        if (!HasAesni(h))
          return Status::Invalid("host " + h + " runs a container of " + env +
                                 " and has no AES-NI: it could not run AES-256-GCM");
    }
  }
  msg::RotateKeyResult r;
  r.old_epoch = e.send_epoch;
  r.old_aead = e.aead;
  r.new_aead = overlay::AeadName(*kind);
  r.new_epoch = e.keys.back().epoch + 1;
  // Hosts hold two epochs: the one senders use now and the new one.
  while (e.keys.size() > 1) {
    if (e.keys.front().epoch == e.send_epoch) break;
    sodium_memzero(e.keys.front().key.data(), overlay::kKeySize);
    e.keys.erase(e.keys.begin());
  }
  while (e.keys.size() > 1) {  // a rotation before the previous switched: drop the unused newest
    sodium_memzero(e.keys.back().key.data(), overlay::kKeySize);
    e.keys.pop_back();
  }
  overlay::EnvKey k = overlay::NewEnvKey(e.num, r.new_epoch, *kind);
  e.keys.push_back(EnvKeyRow{r.new_epoch, k.key, *kind});
  sodium_memzero(k.key.data(), k.key.size());
  NoteAeads(env);
  e.switch_at_ms = now_ms + opts_.switch_after_ms;
  e.forget_at_ms = 0;
  if (Status s = SaveEnv(e); !s.ok()) return s;
  r.switch_at_ms = e.switch_at_ms;
  r.forget_old_at_ms = e.switch_at_ms + opts_.key_grace_ms;
  for (const auto& h : HostsOf(env)) announce_.insert(h);
  ++version_;
  spdlog::info("overlay: {} rotating: epoch {} ({}) delivered, senders switch from {} ({}) in {} ms", env,
               r.new_epoch, r.new_aead, r.old_epoch, r.old_aead, opts_.switch_after_ms);
  return r;
}

Result<std::string> OverlayState::SealedFor(const msg::HostRecord& host, const Env& e, const EnvKeyRow& k) {
  auto cache_key = std::make_tuple(host.public_key, e.num, k.epoch);
  if (auto it = sealed_cache_.find(cache_key); it != sealed_cache_.end()) return it->second;
  auto pk = overlay::Z85DecodeKey(host.public_key);
  if (!pk.ok()) return Status::Invalid("host " + host.id + " has no usable public key: " + pk.status().message());
  overlay::EnvKey ek;
  ek.env_id = e.num;
  ek.epoch = k.epoch;
  ek.aead = k.aead;
  ek.key = k.key;
  auto sealed = overlay::SealEnvKey(ek, *pk);
  sodium_memzero(ek.key.data(), ek.key.size());
  if (!sealed.ok()) return sealed.status();
  if (sealed_cache_.size() > 65536) sealed_cache_.clear();
  sealed_cache_[cache_key] = *sealed;
  return *sealed;
}

Result<msg::OverlayView> OverlayState::ViewFor(const std::string& host_id, const std::vector<msg::HostRecord>& hosts) {
  const msg::HostRecord* me = nullptr;
  std::map<std::string, const msg::HostRecord*> by_id;
  for (const auto& h : hosts) {
    by_id[h.id] = &h;
    if (h.id == host_id) me = &h;
  }
  if (!me) return Status::NotFound("host " + host_id + " is not enrolled");
  msg::OverlayView v;
  v.host_id = host_id;
  v.host_num = HostNum(host_id);
  v.pod_cidr = opts_.pod_cidr;
  v.port = opts_.port;
  v.version = version_;
  v.gateway_ports = opts_.gateway_ports;
  std::set<std::string> mine;
  for (const auto& [_, a] : addrs_)
    if (a.host_id == host_id) mine.insert(a.env);
  std::set<std::string> peers;
  for (const auto& name : mine) {
    const Env& e = envs_.at(name);
    msg::OverlayEnv oe;
    oe.env = name;
    oe.num = e.num;
    auto sub = ipam_.SubnetOf(e.num);
    if (!sub.ok()) continue;
    oe.subnet = overlay::FormatPrefix(*sub);
    oe.aead = e.aead;
    oe.send_epoch = e.send_epoch;
    for (auto k = e.keys.rbegin(); k != e.keys.rend(); ++k) {
      auto sealed = SealedFor(*me, e, *k);
      if (!sealed.ok()) return sealed.status();
      oe.keys.push_back(msg::OverlayKey{k->epoch, *sealed, overlay::AeadName(k->aead)});
    }
    for (const auto& [_, a] : addrs_) {
      if (a.env != name) continue;
      oe.routes.push_back(msg::OverlayRoute{overlay::FormatAddr(a.addr), a.host_id, a.job_id, a.attempt});
      peers.insert(a.host_id);
    }
    v.envs.push_back(std::move(oe));
  }
  for (const auto& p : peers) {
    auto it = by_id.find(p);
    if (it == by_id.end() || it->second->address.empty()) continue;
    v.hosts.push_back(msg::OverlayHost{p, HostNum(p), it->second->address + ":" + std::to_string(opts_.port)});
  }
  return v;
}

std::vector<msg::OverlayEnv> OverlayState::Listing(const std::string& env) const {
  std::vector<msg::OverlayEnv> out;
  for (const auto& [name, e] : envs_) {
    if (!env.empty() && name != env) continue;
    msg::OverlayEnv oe;
    oe.env = name;
    oe.num = e.num;
    if (auto sub = ipam_.SubnetOf(e.num); sub.ok()) oe.subnet = overlay::FormatPrefix(*sub);
    oe.aead = e.aead;
    oe.send_epoch = e.send_epoch;
    for (const auto& k : e.keys)  // epochs only, never keys
      oe.keys.push_back(msg::OverlayKey{k.epoch, "", overlay::AeadName(k.aead)});
    for (const auto& [_, a] : addrs_)
      if (a.env == name) oe.routes.push_back(msg::OverlayRoute{overlay::FormatAddr(a.addr), a.host_id, a.job_id, a.attempt});
    out.push_back(std::move(oe));
  }
  return out;
}

}  // namespace rv::sauron
