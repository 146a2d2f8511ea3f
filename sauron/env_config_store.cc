#include "sauron/env_config_store.h"

#include <sodium.h>

#include <cctype>

#include "common/names.h"
#include "common/utf8.h"
#include "sauron/sqlite_exec.h"
#include "sauron/sqlite_txn.h"

namespace rv::sauron {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS env_config (
  env TEXT NOT NULL,
  name TEXT NOT NULL,
  secret INTEGER NOT NULL DEFAULT 0,
  value BLOB NOT NULL,
  updated_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (env, name)
);
)sql";

using Q = SqliteStatement;

std::string AdPrefix(const std::string& env, const std::string& name) {
  std::string p = env;
  p += '\0';
  p += name;
  p += '\0';
  return p;
}

}  // namespace

Result<std::unique_ptr<EnvConfigStore>> EnvConfigStore::Open(const std::string& db_path, crypto::SecretBoxKey key) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::Io("cannot open database " + db_path + ": " + m);
  }
  std::unique_ptr<EnvConfigStore> s(new EnvConfigStore(db, std::move(key)));
  if (Status st = s->Init(); !st.ok()) return Status::Io("env config in " + db_path + ": " + st.message());
  return s;
}

EnvConfigStore::~EnvConfigStore() { sqlite3_close_v2(db_); }

Status EnvConfigStore::Exec(const char* sql) { return SqliteExec(db_, sql); }

Status EnvConfigStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  // Overwritten and deleted rows are zeroed, not left in free pages (they are
  // ciphertext anyway; this keeps even that from lingering).
  if (Status s = Exec("PRAGMA secure_delete=ON"); !s.ok()) return s;
  if (Status s = Exec(kSchema); !s.ok()) return s;
  Q q(db_, "SELECT DISTINCT env FROM env_config");
  if (!q.ok()) return q.Error();
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) envs_.insert(q.ColText(0));
  if (rc != SQLITE_DONE) return q.Error();
  return Status::Ok();
}

Status EnvConfigStore::ValidateEnv(const std::string& env) {
  // TENANT/ENV or a lone ENV (common/names.h): never a path, never "..".
  return names::ValidateEnvRef(env);
}

Status EnvConfigStore::ValidateName(const std::string& name) {
  if (name.empty() || name.size() > 256) return Status::Invalid("config var name must be 1-256 chars");
  if (isdigit(static_cast<unsigned char>(name[0]))) return Status::Invalid("config var name '" + name.substr(0, 64) + "' starts with a digit");
  for (unsigned char c : name) {
    if (!isalnum(c) && c != '_') {
      return Status::Invalid("config var name may only hold letters, digits and _ (got " + names::Quote(name, 64) + ")");
    }
  }
  // The runtime sets these itself; an env var must not impersonate them.
  if (name.rfind("RV_", 0) == 0) return Status::Invalid("config var names starting with RV_ are reserved");
  return Status::Ok();
}

std::string EnvConfigStore::Seal(const std::string& env, const std::string& name, const std::string& value) const {
  std::string plain = AdPrefix(env, name) + value;
  std::string box = key_.Encrypt(plain);
  crypto::Wipe(plain);
  return box;
}

Status EnvConfigStore::Set(const std::string& env, const std::map<std::string, std::string>& vars, bool secret,
                           int64_t now_ms) {
  if (Status s = ValidateEnv(env); !s.ok()) return s;
  if (vars.empty()) return Status::Invalid("no config vars given");
  for (const auto& [k, v] : vars) {
    if (Status s = ValidateName(k); !s.ok()) return s;
    // Only the name and the size: never the value.
    if (v.size() > kMaxValueBytes) return Status::Invalid("value of " + k + " is larger than 32 KiB");
    if (v.find('\0') != std::string::npos) return Status::Invalid("value of " + k + " holds a NUL byte");
    // It becomes an environment variable in a container's JSON runtime spec.
    if (!IsUtf8(v)) return Status::Invalid("value of " + k + " is not UTF-8 text");
  }
  SqliteTxn txn(db_);
  if (!txn.status().ok()) return txn.status();
  {
    Q names(db_, "SELECT name FROM env_config WHERE env = ?");
    names.Text(1, env);
    size_t total = vars.size();
    int rc;
    while ((rc = names.Step()) == SQLITE_ROW) total += vars.count(names.ColText(0)) ? 0 : 1;
    if (rc != SQLITE_DONE) return names.Error();
    if (total > kMaxVarsPerEnv) {
      return Status::Invalid("an environment holds at most " + std::to_string(kMaxVarsPerEnv) + " config vars");
    }
  }
  Q put(db_, "INSERT OR REPLACE INTO env_config(env, name, secret, value, updated_ms) VALUES (?, ?, ?, ?, ?)");
  if (!put.ok()) return put.Error();
  for (const auto& [k, v] : vars) {
    put.Text(1, env).Text(2, k).Int(3, secret ? 1 : 0).Blob(4, Seal(env, k, v)).Int(5, now_ms);
    if (put.Step() != SQLITE_DONE) return put.Error();
    put.Reset();
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  envs_.insert(env);
  return Status::Ok();
}

Status EnvConfigStore::Unset(const std::string& env, const std::vector<std::string>& names) {
  if (Status s = ValidateEnv(env); !s.ok()) return s;
  if (names.empty()) return Status::Invalid("no config var names given");
  if (names.size() > kMaxVarsPerEnv) return Status::Invalid("too many names");
  SqliteTxn txn(db_);
  if (!txn.status().ok()) return txn.status();
  Q del(db_, "DELETE FROM env_config WHERE env = ? AND name = ?");
  for (const auto& n : names) {
    del.Text(1, env).Text(2, n);
    if (del.Step() != SQLITE_DONE) return del.Error();
    del.Reset();
  }
  Q left(db_, "SELECT COUNT(*) FROM env_config WHERE env = ?");
  left.Text(1, env);
  bool any = left.Step() == SQLITE_ROW && left.ColInt(0) > 0;
  left.Reset();
  if (Status s = txn.Commit(); !s.ok()) return s;
  if (!any) envs_.erase(env);
  return Status::Ok();
}

Result<std::vector<msg::ConfigVar>> EnvConfigStore::List(const std::string& env) {
  if (Status s = ValidateEnv(env); !s.ok()) return s;
  Q q(db_, "SELECT name, secret, value, updated_ms FROM env_config WHERE env = ? ORDER BY name");
  q.Text(1, env);
  std::vector<msg::ConfigVar> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    msg::ConfigVar v;
    v.name = q.ColText(0);
    v.secret = q.ColInt(1) != 0;
    v.updated_ms = q.ColInt(3);
    if (!v.secret) {
      auto plain = key_.Decrypt(q.ColBlob(2));
      std::string prefix = AdPrefix(env, v.name);
      if (!plain.ok() || plain->compare(0, prefix.size(), prefix) != 0) {
        return Status::Denied("config var " + v.name + " of " + env + " does not decrypt with this pod's key");
      }
      v.value = plain->substr(prefix.size());
    }
    out.push_back(std::move(v));
  }
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Result<crypto::SecretEnv> EnvConfigStore::Resolve(const std::string& env) {
  crypto::SecretEnv out;
  if (!HasVars(env)) return out;
  Q q(db_, "SELECT name, value FROM env_config WHERE env = ?");
  q.Text(1, env);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    std::string name = q.ColText(0);
    auto plain = key_.Decrypt(q.ColBlob(1));
    std::string prefix = AdPrefix(env, name);
    if (!plain.ok() || plain->compare(0, prefix.size(), prefix) != 0) {
      if (plain.ok()) crypto::Wipe(*plain);
      return Status::Denied("config var " + name + " of " + env + " does not decrypt with this pod's key");
    }
    out.mutable_vars()[name] = plain->substr(prefix.size());
    crypto::Wipe(*plain);
  }
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Result<std::string> EnvConfigStore::SealFor(const std::string& env, const std::string& host_key_z85) {
  if (!HasVars(env)) return std::string();
  auto pk = crypto::DecodeZ85Key(host_key_z85);
  if (!pk.ok()) return Status::Invalid("host key: " + pk.status().message());
  auto vars = Resolve(env);
  if (!vars.ok()) return vars.status();
  return crypto::SealEnv(*pk, vars->vars());  // `vars` wipes itself here
}

}  // namespace rv::sauron
