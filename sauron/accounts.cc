#include "sauron/accounts.h"

#include "common/ssh_key.h"
#include "sauron/sqlite_exec.h"

namespace rv::sauron {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ssh_keys (
  fingerprint TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users(name),
  type TEXT NOT NULL,
  blob TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ssh_keys_user ON ssh_keys(user);
CREATE TABLE IF NOT EXISTS apps (
  tenant TEXT NOT NULL,
  env TEXT NOT NULL,
  app TEXT NOT NULL,
  deploy_branch TEXT NOT NULL DEFAULT 'main',
  created_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, env, app)
);
CREATE TABLE IF NOT EXISTS access (
  user TEXT NOT NULL,
  env TEXT NOT NULL,
  write INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user, env)
);
)sql";

using Q = SqliteStatement;

// Apps and grants name a tenant's environment: TENANT/ENV, never a lone ENV.
Status ValidateTenantEnv(const std::string& env) {
  if (env.find('/') == std::string::npos) {
    return Status::Invalid("environment " + names::Quote(env) + " must be TENANT/ENV (e.g. acme/prod)");
  }
  return names::ValidateEnvRef(env);
}

msg::AppInfo ReadApp(Q& q) {
  msg::AppInfo a;
  a.tenant = q.ColText(0);
  a.env = q.ColText(1);
  a.app = q.ColText(2);
  a.deploy_branch = q.ColText(3);
  a.created_ms = q.ColInt(4);
  return a;
}

}  // namespace

msg::GitAccess DecideGitAccess(const std::string& user, const names::AppRef& app, bool user_exists,
                               std::optional<bool> grant_write, const std::optional<msg::AppInfo>& found, bool write) {
  msg::GitAccess out;
  if (!user_exists) {
    out.reason = "user " + names::Quote(user) + " does not exist";
    return out;
  }
  if (!grant_write.has_value()) {
    out.reason = "user " + user + " has no access to " + app.ToString() + " (an operator runs: rv access:grant " + user +
                 " " + app.EnvRef() + ")";
    return out;
  }
  if (!found.has_value()) {
    out.reason = "app " + app.ToString() + " does not exist (an operator creates it: rv apps:create " + app.EnvRef() +
                 " " + app.app + ")";
    return out;
  }
  if (write && !*grant_write) {
    // One refusal for a push and for the console: both need a write grant.
    out.reason = "user " + user + " has read-only access to " + app.EnvRef() + ": may clone and fetch " +
                 app.ToString() + ", not push to it, roll it back, restart it, change its config, add or remove its names or run commands in it";
    return out;
  }
  out.allowed = true;
  out.deploy_branch = found->deploy_branch;
  return out;
}

Result<std::unique_ptr<Accounts>> Accounts::Open(const std::string& db_path) {
  auto db = SqliteOpen(db_path);
  if (!db.ok()) return db.status();
  std::unique_ptr<Accounts> a(new Accounts(*db));
  if (Status st = a->Init(); !st.ok()) return Status::Io("accounts in " + db_path + ": " + st.message());
  return a;
}

Accounts::~Accounts() { sqlite3_close_v2(db_); }

Status Accounts::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = SqliteExec(db_, "PRAGMA journal_mode=WAL"); !s.ok()) return s;
  return SqliteExec(db_, kSchema);
}

Result<bool> Accounts::UserExists(const std::string& user) {
  Q q(db_, "SELECT 1 FROM users WHERE name = ?");
  q.Text(1, user);
  int rc = q.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return q.Error();
}

Status Accounts::AddUser(const std::string& user, int64_t now_ms) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  auto e = UserExists(user);
  if (!e.ok()) return e.status();
  if (*e) return Status::Conflict("user " + user + " exists");
  Q q(db_, "INSERT INTO users(name, created_ms) VALUES (?, ?)");
  return q.Text(1, user).Int(2, now_ms).Run();
}

Result<std::vector<msg::UserInfo>> Accounts::Users() {
  std::vector<msg::UserInfo> out;
  Q q(db_, "SELECT name, created_ms, (SELECT COUNT(*) FROM ssh_keys k WHERE k.user = u.name) FROM users u ORDER BY name");
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(msg::UserInfo{q.ColText(0), q.ColInt(1), q.ColInt(2), {}});
  if (rc != SQLITE_DONE) return q.Error();
  for (auto& u : out) {
    Q g(db_, "SELECT env, write FROM access WHERE user = ? ORDER BY env");
    g.Text(1, u.user);
    while ((rc = g.Step()) == SQLITE_ROW) u.access.push_back(msg::AccessGrantInfo{g.ColText(0), g.ColInt(1) != 0});
    if (rc != SQLITE_DONE) return g.Error();
  }
  return out;
}

Result<msg::KeyInfo> Accounts::AddKey(const std::string& user, const std::string& pub_line, int64_t now_ms) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  auto key = SshPublicKey::Parse(pub_line);
  if (!key.ok()) return key.status();
  auto e = UserExists(user);
  if (!e.ok()) return e.status();
  if (!*e) return Status::NotFound("user " + user + " does not exist (rv users:add " + user + ")");
  {
    Q q(db_, "SELECT user FROM ssh_keys WHERE fingerprint = ?");
    q.Text(1, key->fingerprint);
    int rc = q.Step();
    if (rc == SQLITE_ROW) {
      std::string owner = q.ColText(0);
      return Status::Conflict("key " + key->fingerprint + " already belongs to " +
                              (owner == user ? "this user" : "another user") + "; a key belongs to one user");
    }
    if (rc != SQLITE_DONE) return q.Error();
  }
  auto keys = Keys(user);
  if (!keys.ok()) return keys.status();
  if (keys->size() >= kMaxKeysPerUser) {
    return Status::Invalid("user " + user + " has " + std::to_string(kMaxKeysPerUser) + " keys, the most allowed");
  }
  Q ins(db_, "INSERT INTO ssh_keys(fingerprint, user, type, blob, comment, created_ms) VALUES (?, ?, ?, ?, ?, ?)");
  ins.Text(1, key->fingerprint).Text(2, user).Text(3, key->type).Text(4, key->blob_base64).Text(5, key->comment);
  if (Status s = ins.Int(6, now_ms).Run(); !s.ok()) return s;
  return msg::KeyInfo{user, key->type, key->fingerprint, key->comment, now_ms};
}

Status Accounts::RemoveKey(const std::string& user, const std::string& fingerprint) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  Q q(db_, "DELETE FROM ssh_keys WHERE user = ? AND fingerprint = ?");
  if (Status s = q.Text(1, user).Text(2, fingerprint).Run(); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) {
    return Status::NotFound("user " + user + " has no key " + names::Quote(fingerprint) + " (see rv keys " + user + ")");
  }
  return Status::Ok();
}

Result<std::vector<msg::KeyInfo>> Accounts::Keys(const std::string& user) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  auto e = UserExists(user);
  if (!e.ok()) return e.status();
  if (!*e) return Status::NotFound("user " + user + " does not exist");
  std::vector<msg::KeyInfo> out;
  Q q(db_, "SELECT type, fingerprint, comment, created_ms FROM ssh_keys WHERE user = ? ORDER BY created_ms, fingerprint");
  q.Text(1, user);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(msg::KeyInfo{user, q.ColText(0), q.ColText(1), q.ColText(2), q.ColInt(3)});
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Result<msg::AppInfo> Accounts::CreateApp(const std::string& env_ref, const std::string& app, const std::string& branch,
                                         int64_t now_ms) {
  if (Status s = ValidateTenantEnv(env_ref); !s.ok()) return s;
  auto r = names::ParseAppRef(env_ref + "/" + app);
  if (!r.ok()) return r.status();
  std::string b = branch.empty() ? "main" : branch;
  if (b != "main" && b != "master") return Status::Invalid("the deploy branch must be main or master");
  auto found = FindApp(*r);
  if (!found.ok()) return found.status();
  if (found->has_value()) return Status::Conflict("app " + r->ToString() + " exists");
  Q q(db_, "INSERT INTO apps(tenant, env, app, deploy_branch, created_ms) VALUES (?, ?, ?, ?, ?)");
  if (Status s = q.Text(1, r->tenant).Text(2, r->env).Text(3, r->app).Text(4, b).Int(5, now_ms).Run(); !s.ok()) return s;
  return msg::AppInfo{r->tenant, r->env, r->app, b, now_ms};
}

Status Accounts::DestroyApp(const std::string& app_ref) {
  auto r = names::ParseAppRef(app_ref);
  if (!r.ok()) return r.status();
  Q q(db_, "DELETE FROM apps WHERE tenant = ? AND env = ? AND app = ?");
  if (Status s = q.Text(1, r->tenant).Text(2, r->env).Text(3, r->app).Run(); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no app " + r->ToString());
  return Status::Ok();
}

Result<std::optional<msg::AppInfo>> Accounts::FindApp(const names::AppRef& r) {
  Q q(db_, "SELECT tenant, env, app, deploy_branch, created_ms FROM apps WHERE tenant = ? AND env = ? AND app = ?");
  q.Text(1, r.tenant).Text(2, r.env).Text(3, r.app);
  int rc = q.Step();
  if (rc == SQLITE_ROW) return std::optional<msg::AppInfo>(ReadApp(q));
  if (rc == SQLITE_DONE) return std::optional<msg::AppInfo>();
  return q.Error();
}

Result<std::vector<msg::AppInfo>> Accounts::Apps(const std::string& env_ref) {
  std::string tenant, env;
  if (!env_ref.empty()) {
    if (Status s = ValidateTenantEnv(env_ref); !s.ok()) return s;
    tenant = env_ref.substr(0, env_ref.find('/'));
    env = env_ref.substr(env_ref.find('/') + 1);
  }
  Q q(db_,
      "SELECT tenant, env, app, deploy_branch, created_ms FROM apps WHERE (?1 = '' OR (tenant = ?1 AND env = ?2)) "
      "ORDER BY tenant, env, app");
  q.Text(1, tenant).Text(2, env);
  std::vector<msg::AppInfo> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadApp(q));
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Status Accounts::Grant(const std::string& user, const std::string& env_ref, bool write, int64_t now_ms) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  if (Status s = ValidateTenantEnv(env_ref); !s.ok()) return s;
  auto e = UserExists(user);
  if (!e.ok()) return e.status();
  if (!*e) return Status::NotFound("user " + user + " does not exist (rv users:add " + user + ")");
  Q q(db_, "INSERT OR REPLACE INTO access(user, env, write, created_ms) VALUES (?, ?, ?, ?)");
  return q.Text(1, user).Text(2, env_ref).Int(3, write ? 1 : 0).Int(4, now_ms).Run();
}

Status Accounts::Revoke(const std::string& user, const std::string& env_ref) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  if (Status s = ValidateTenantEnv(env_ref); !s.ok()) return s;
  Q q(db_, "DELETE FROM access WHERE user = ? AND env = ?");
  if (Status s = q.Text(1, user).Text(2, env_ref).Run(); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("user " + user + " has no access to " + env_ref);
  return Status::Ok();
}

Result<msg::KeyOwner> Accounts::LookupKey(const std::string& type, const std::string& blob_base64) {
  auto key = SshPublicKey::FromParts(type, blob_base64);
  if (!key.ok()) return key.status();
  Q q(db_, "SELECT user, blob FROM ssh_keys WHERE fingerprint = ?");
  q.Text(1, key->fingerprint);
  int rc = q.Step();
  if (rc == SQLITE_ROW && q.ColText(1) == blob_base64) return msg::KeyOwner{q.ColText(0), key->fingerprint};
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return q.Error();
  return Status::NotFound("key " + key->fingerprint + " is not enrolled");
}

Result<msg::GitAccess> Accounts::Authorize(const std::string& user, const std::string& app_ref, bool write) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return s;
  auto r = names::ParseAppRef(app_ref);
  if (!r.ok()) return r.status();
  auto exists = UserExists(user);
  if (!exists.ok()) return exists.status();
  std::optional<bool> grant;
  {
    Q q(db_, "SELECT write FROM access WHERE user = ? AND env = ?");
    q.Text(1, user).Text(2, r->EnvRef());
    int rc = q.Step();
    if (rc == SQLITE_ROW) grant = q.ColInt(0) != 0;
    else if (rc != SQLITE_DONE) return q.Error();
  }
  auto found = FindApp(*r);
  if (!found.ok()) return found.status();
  return DecideGitAccess(user, *r, *exists, grant, *found, write);
}

}  // namespace rv::sauron
