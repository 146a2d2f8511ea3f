#include "sauron/domain_store.h"

#include "common/crypto/sealed_box.h"
#include "sauron/sqlite_exec.h"

namespace rv::sauron {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS domains (
  name TEXT PRIMARY KEY,
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL DEFAULT 0,
  cert_pem TEXT NOT NULL DEFAULT '',
  key_box BLOB,
  not_after_ms INTEGER NOT NULL DEFAULT 0,
  custom INTEGER NOT NULL DEFAULT 0,
  issuer TEXT NOT NULL DEFAULT '',
  updated_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS domains_env ON domains(env);
CREATE INDEX IF NOT EXISTS domains_app ON domains(app);
)sql";

using Q = SqliteStatement;

std::string KeyPrefix(const std::string& name) {
  std::string p = "domain-key";
  p += '\0';
  p += name;
  p += '\0';
  return p;
}

constexpr const char* kColumns =
    "SELECT name, app, env, is_default, cert_pem, not_after_ms, custom, issuer, updated_ms FROM domains ";

}  // namespace

Result<std::unique_ptr<DomainStore>> DomainStore::Open(const std::string& db_path, crypto::SecretBoxKey key) {
  auto db = SqliteOpen(db_path);
  if (!db.ok()) return db.status();
  std::unique_ptr<DomainStore> s(new DomainStore(*db, std::move(key)));
  if (Status st = s->Init(); !st.ok()) return Status::Io("domains in " + db_path + ": " + st.message());
  return s;
}

DomainStore::~DomainStore() { sqlite3_close_v2(db_); }

Status DomainStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = SqliteExec(db_, "PRAGMA journal_mode=WAL"); !s.ok()) return s;
  // Replaced keys are zeroed, not left in free pages (ciphertext anyway).
  if (Status s = SqliteExec(db_, "PRAGMA secure_delete=ON"); !s.ok()) return s;
  return SqliteExec(db_, kSchema);
}

Result<bool> DomainStore::AddName(const std::string& name, const names::AppRef& app, bool is_default,
                                  int64_t now_ms) {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  if (*found) {
    if ((*found)->app == app.ToString()) return false;
    // Customers add names too (over the git server's ssh): another tenant's
    // app is not named to them (an operator finds it with `rv certs`).
    auto owner = names::ParseAppRef((*found)->app);
    if (!owner.ok() || owner->tenant != app.tenant) {
      return Status::Conflict("the name " + name + " belongs to another tenant's app");
    }
    return Status::Conflict("the name " + name + " belongs to another app (" + (*found)->app +
                            "); remove it there first");
  }
  Q count(db_, "SELECT COUNT(*) FROM domains WHERE app = ?");
  count.Text(1, app.ToString());
  if (count.Step() != SQLITE_ROW) return count.Error();
  if (count.ColInt(0) >= static_cast<int64_t>(kMaxNamesPerApp)) {
    return Status::Invalid("an app has at most " + std::to_string(kMaxNamesPerApp) + " names");
  }
  Q ins(db_, "INSERT INTO domains(name, app, env, is_default, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)");
  ins.Text(1, name).Text(2, app.ToString()).Text(3, app.EnvRef()).Int(4, is_default ? 1 : 0).Int(5, now_ms).Int(6,
                                                                                                             now_ms);
  if (Status s = ins.Run(); !s.ok()) return s;
  return true;
}

Status DomainStore::RemoveName(const std::string& name, const names::AppRef& app) {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  if (!*found || (*found)->app != app.ToString()) {
    return Status::NotFound(app.ToString() + " has no name " + names::Quote(name));
  }
  if ((*found)->is_default) {
    return Status::Invalid(name + " is " + app.ToString() + "'s default name; it goes with the app");
  }
  Q del(db_, "DELETE FROM domains WHERE name = ?");
  del.Text(1, name);
  return del.Run();
}

Result<int> DomainStore::DropOtherDefaults(const names::AppRef& app, const std::string& keep) {
  Q del(db_, "DELETE FROM domains WHERE app = ? AND is_default = 1 AND name != ?");
  del.Text(1, app.ToString()).Text(2, keep);
  if (Status s = del.Run(); !s.ok()) return s;
  return sqlite3_changes(db_);
}

Result<std::vector<std::string>> DomainStore::RemoveApp(const names::AppRef& app) {
  auto rows = List(app.ToString());
  if (!rows.ok()) return rows.status();
  Q del(db_, "DELETE FROM domains WHERE app = ?");
  del.Text(1, app.ToString());
  if (Status s = del.Run(); !s.ok()) return s;
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.name);
  return out;
}

Status DomainStore::PutCert(const std::string& name, const std::string& cert_pem, const std::string& key_pem,
                            int64_t not_after_ms, bool custom, const std::string& issuer, int64_t now_ms) {
  std::string plain = KeyPrefix(name) + key_pem;
  std::string box = key_.Encrypt(plain);
  crypto::Wipe(plain);
  Q up(db_,
       "UPDATE domains SET cert_pem = ?, key_box = ?, not_after_ms = ?, custom = ?, issuer = ?, updated_ms = ? "
       "WHERE name = ?");
  up.Text(1, cert_pem).Blob(2, box).Int(3, not_after_ms).Int(4, custom ? 1 : 0).Text(5, issuer).Int(6, now_ms).Text(
      7, name);
  if (Status s = up.Run(); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no app has the name " + names::Quote(name));
  return Status::Ok();
}

Result<std::vector<DomainRow>> DomainStore::Query(const char* where, const std::string& arg) {
  Q q(db_, (std::string(kColumns) + where + " ORDER BY name").c_str());
  if (!q.ok()) return q.Error();
  if (!arg.empty() || std::string(where).find('?') != std::string::npos) q.Text(1, arg);
  std::vector<DomainRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    DomainRow r;
    r.name = q.ColText(0);
    r.app = q.ColText(1);
    r.env = q.ColText(2);
    r.is_default = q.ColInt(3) != 0;
    r.cert_pem = q.ColText(4);
    r.not_after_ms = q.ColInt(5);
    r.custom = q.ColInt(6) != 0;
    r.issuer = q.ColText(7);
    r.updated_ms = q.ColInt(8);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Result<std::optional<DomainRow>> DomainStore::Find(const std::string& name) {
  auto rows = Query("WHERE name = ?", name);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<DomainRow>();
  return std::optional<DomainRow>(std::move(rows->front()));
}

Result<std::vector<DomainRow>> DomainStore::List(const std::string& app) {
  if (app.empty()) return Query("", "");
  return Query("WHERE app = ?", app);
}

Result<std::vector<DomainRow>> DomainStore::ForEnv(const std::string& env) { return Query("WHERE env = ?", env); }

Result<std::string> DomainStore::Key(const std::string& name) {
  Q q(db_, "SELECT key_box FROM domains WHERE name = ?");
  q.Text(1, name);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no app has the name " + names::Quote(name));
  if (rc != SQLITE_ROW) return q.Error();
  std::string box = q.ColBlob(0);
  if (box.empty()) return Status::NotFound(name + " has no certificate yet");
  auto plain = key_.Decrypt(box);
  std::string prefix = KeyPrefix(name);
  if (!plain.ok() || plain->compare(0, prefix.size(), prefix) != 0) {
    if (plain.ok()) crypto::Wipe(*plain);
    return Status::Denied("the key of " + name + " does not decrypt with this pod's key");
  }
  std::string key = plain->substr(prefix.size());
  crypto::Wipe(*plain);
  return key;
}

}  // namespace rv::sauron
