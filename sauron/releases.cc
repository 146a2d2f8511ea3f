#include "sauron/releases.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <tuple>

#include "common/names.h"
#include "common/utf8.h"
#include "sauron/sqlite_exec.h"
#include "sauron/sqlite_txn.h"

namespace rv::sauron {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS app_builds (
  app TEXT NOT NULL,
  number INTEGER NOT NULL,
  commit_sha TEXT NOT NULL DEFAULT '',
  user TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  image TEXT NOT NULL DEFAULT '',
  digest TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  output_bytes INTEGER NOT NULL DEFAULT 0,
  truncated INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app, number)
);
CREATE TABLE IF NOT EXISTS app_build_output (
  app TEXT NOT NULL,
  number INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  chunk BLOB NOT NULL,
  PRIMARY KEY (app, number, offset)
);
CREATE TABLE IF NOT EXISTS app_releases (
  app TEXT NOT NULL,
  version INTEGER NOT NULL,
  env TEXT NOT NULL,
  image TEXT NOT NULL,
  digest TEXT NOT NULL DEFAULT '',
  config_version INTEGER NOT NULL DEFAULT 0,
  formation TEXT NOT NULL DEFAULT '{}',
  process_types TEXT NOT NULL DEFAULT '{}',
  commit_sha TEXT NOT NULL DEFAULT '',
  user TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL DEFAULT 0,
  build INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'created',
  detail TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (app, version)
);
CREATE INDEX IF NOT EXISTS app_releases_env ON app_releases (env);
CREATE TABLE IF NOT EXISTS app_formation (
  app TEXT NOT NULL,
  type TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (app, type)
);
CREATE TABLE IF NOT EXISTS env_config_versions (
  env TEXT PRIMARY KEY,
  version INTEGER NOT NULL
);
)sql";

using Q = SqliteStatement;

using Txn = SqliteTxn;

std::string ToJson(const std::map<std::string, int32_t>& m) { return nlohmann::json(m).dump(); }
std::string ToJson(const std::map<std::string, std::string>& m) { return nlohmann::json(m).dump(); }
template <typename T>
T FromJson(const std::string& s) {
  try {
    return nlohmann::json::parse(s).get<T>();
  } catch (...) {
    return T{};
  }
}

const char* kBuildCols =
    "number, app, commit_sha, user, state, started_ms, finished_ms, image, digest, error, output_bytes";
msg::BuildRecord ReadBuild(Q& q) {
  msg::BuildRecord b;
  b.number = q.ColInt(0);
  b.app = q.ColText(1);
  b.commit = q.ColText(2);
  b.user = q.ColText(3);
  b.state = q.ColText(4);
  b.started_ms = q.ColInt(5);
  b.finished_ms = q.ColInt(6);
  b.image = q.ColText(7);
  b.digest = q.ColText(8);
  b.error = q.ColText(9);
  b.output_bytes = q.ColInt(10);
  return b;
}

const char* kReleaseCols =
    "app, version, image, digest, config_version, formation, process_types, commit_sha, user, created_ms, build, "
    "description, state, detail";
msg::ReleaseRecord ReadRelease(Q& q) {
  msg::ReleaseRecord r;
  r.app = q.ColText(0);
  r.version = q.ColInt(1);
  r.image = q.ColText(2);
  r.digest = q.ColText(3);
  r.config_version = q.ColInt(4);
  r.formation = FromJson<std::map<std::string, int32_t>>(q.ColText(5));
  r.process_types = FromJson<std::map<std::string, std::string>>(q.ColText(6));
  r.commit = q.ColText(7);
  r.user = q.ColText(8);
  r.created_ms = q.ColInt(9);
  r.build = q.ColInt(10);
  r.description = q.ColText(11);
  r.state = q.ColText(12);
  r.detail = q.ColText(13);
  return r;
}

// Printable and bounded: these fields end up in tables and events.
Status CheckField(const std::string& what, const std::string& v, size_t max) {
  if (v.size() > max) return Status::Invalid(what + " is longer than " + std::to_string(max) + " bytes");
  if (HasControlByte(v)) return Status::Invalid(what + " holds a control character");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ReleaseStore>> ReleaseStore::Open(const std::string& db_path) {
  auto db = SqliteOpen(db_path);
  if (!db.ok()) return db.status();
  std::unique_ptr<ReleaseStore> s(new ReleaseStore(*db));
  if (Status st = s->Init(); !st.ok()) return Status::Io("releases in " + db_path + ": " + st.message());
  return s;
}

ReleaseStore::~ReleaseStore() { sqlite3_close_v2(db_); }

Status ReleaseStore::Exec(const char* sql) { return SqliteExec(db_, sql); }

Status ReleaseStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  if (Status s = Exec("PRAGMA synchronous=NORMAL"); !s.ok()) return s;
  return Exec(kSchema);
}

Status ReleaseStore::ValidateApp(const std::string& app) {
  auto ref = names::ParseAppRef(app);
  return ref.ok() ? Status::Ok() : ref.status();
}

std::string ReleaseStore::EnvOf(const std::string& app) {
  auto slash = app.rfind('/');
  return slash == std::string::npos ? "" : app.substr(0, slash);
}

Status ReleaseStore::ValidateProcessType(const std::string& type) {
  if (type.empty() || type.size() > 30) return Status::Invalid("process type names are 1-30 chars");
  for (size_t i = 0; i < type.size(); ++i) {
    unsigned char c = type[i];
    if (!(islower(c) || isdigit(c) || (c == '-' && i > 0) || (c == '_' && i > 0))) {
      return Status::Invalid("process type '" + type + "' may only hold a-z 0-9 - _");
    }
  }
  return Status::Ok();
}

// ---- builds ----

Result<msg::BuildRecord> ReleaseStore::StartBuild(const std::string& app, const std::string& commit,
                                                  const std::string& user, int64_t now_ms) {
  if (Status s = ValidateApp(app); !s.ok()) return s;
  if (Status s = CheckField("commit", commit, 64); !s.ok()) return s;
  if (Status s = CheckField("user", user, 128); !s.ok()) return s;
  Txn t(db_);
  if (!t.status().ok()) return t.status();
  Q max(db_, "SELECT COALESCE(MAX(number), 0) FROM app_builds WHERE app = ?");
  if (max.Text(1, app).Step() != SQLITE_ROW) return max.Error();
  int64_t number = max.ColInt(0) + 1;
  Q ins(db_, "INSERT INTO app_builds (app, number, commit_sha, user, state, started_ms) VALUES (?,?,?,?,'running',?)");
  if (ins.Text(1, app).Int(2, number).Text(3, commit).Text(4, user).Int(5, now_ms).Step() != SQLITE_DONE) {
    return ins.Error();
  }
  if (Status s = t.Commit(); !s.ok()) return s;
  return LoadBuild(app, number);
}

Result<msg::BuildRecord> ReleaseStore::LoadBuild(const std::string& app, int64_t number) {
  std::string sql = std::string("SELECT ") + kBuildCols + " FROM app_builds WHERE app = ? AND number = ?";
  Q q(db_, sql.c_str());
  int rc = q.Text(1, app).Int(2, number).Step();
  if (rc == SQLITE_DONE) return Status::NotFound(app + " has no build " + std::to_string(number));
  if (rc != SQLITE_ROW) return q.Error();
  return ReadBuild(q);
}

Status ReleaseStore::AppendOutput(const std::string& app, int64_t number, const std::string& chunk) {
  if (chunk.size() > kMaxChunkBytes) return Status::Invalid("output chunk over " + std::to_string(kMaxChunkBytes) + " bytes");
  Txn t(db_);
  if (!t.status().ok()) return t.status();
  Q q(db_, "SELECT state, output_bytes, truncated FROM app_builds WHERE app = ? AND number = ?");
  int rc = q.Text(1, app).Int(2, number).Step();
  if (rc == SQLITE_DONE) return Status::NotFound(app + " has no build " + std::to_string(number));
  if (rc != SQLITE_ROW) return q.Error();
  if (q.ColText(0) != "running") return Status::Conflict("build " + std::to_string(number) + " of " + app + " is finished");
  int64_t have = q.ColInt(1);
  if (q.ColInt(2) != 0 || chunk.empty()) return Status::Ok();  // already cut: drop the rest
  std::string data = chunk;
  bool cut = false;
  if (have + static_cast<int64_t>(data.size()) > kMaxOutputBytes) {
    data.resize(static_cast<size_t>(std::max<int64_t>(0, kMaxOutputBytes - have)));
    data += "\n[output cut at " + std::to_string(kMaxOutputBytes) + " bytes]\n";
    cut = true;
  }
  Q ins(db_, "INSERT INTO app_build_output (app, number, offset, chunk) VALUES (?,?,?,?)");
  if (ins.Text(1, app).Int(2, number).Int(3, have).Blob(4, data).Step() != SQLITE_DONE) return ins.Error();
  Q up(db_, "UPDATE app_builds SET output_bytes = ?, truncated = ? WHERE app = ? AND number = ?");
  if (up.Int(1, have + static_cast<int64_t>(data.size())).Int(2, cut ? 1 : 0).Text(3, app).Int(4, number).Step() !=
      SQLITE_DONE) {
    return up.Error();
  }
  return t.Commit();
}

Status ReleaseStore::FinishBuild(const msg::BuildFinish& f, int64_t now_ms) {
  if (Status s = CheckField("image", f.image, 512); !s.ok()) return s;
  if (Status s = CheckField("digest", f.digest, 128); !s.ok()) return s;
  std::string error = f.error.substr(0, 1024);
  for (auto& c : error) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (f.ok && f.image.empty()) return Status::Invalid("a succeeded build needs its image");
  Q q(db_,
      "UPDATE app_builds SET state = ?, finished_ms = ?, image = ?, digest = ?, error = ? "
      "WHERE app = ? AND number = ? AND state = 'running'");
  if (q.Text(1, f.ok ? "succeeded" : "failed").Int(2, now_ms).Text(3, f.image).Text(4, f.digest).Text(5, error)
          .Text(6, f.app).Int(7, f.number).Step() != SQLITE_DONE) {
    return q.Error();
  }
  if (sqlite3_changes(db_) == 0) {
    auto b = LoadBuild(f.app, f.number);
    if (!b.ok()) return b.status();
    return Status::Conflict("build " + std::to_string(f.number) + " of " + f.app + " is already " + b->state);
  }
  return Status::Ok();
}

Result<std::vector<msg::BuildRecord>> ReleaseStore::Builds(const std::string& app, int limit) {
  std::string sql = std::string("SELECT ") + kBuildCols + " FROM app_builds WHERE app = ? ORDER BY number DESC LIMIT ?";
  Q q(db_, sql.c_str());
  q.Text(1, app).Int(2, limit > 0 ? limit : 50);
  std::vector<msg::BuildRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadBuild(q));
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Result<msg::BuildOutput> ReleaseStore::Output(const std::string& app, int64_t number, int64_t offset,
                                              int64_t max_bytes) {
  auto b = LoadBuild(app, number);
  if (!b.ok()) return b.status();
  msg::BuildOutput out;
  out.build = *b;
  if (offset < 0) offset = 0;
  max_bytes = std::clamp<int64_t>(max_bytes, 1, 4 << 20);
  Q q(db_,
      "SELECT offset, chunk FROM app_build_output WHERE app = ? AND number = ? AND offset + length(chunk) > ? "
      "ORDER BY offset");
  q.Text(1, app).Int(2, number).Int(3, offset);
  int rc;
  int64_t pos = offset;
  while ((rc = q.Step()) == SQLITE_ROW && static_cast<int64_t>(out.text.size()) < max_bytes) {
    int64_t at = q.ColInt(0);
    std::string c = q.ColBlob(1);
    size_t skip = static_cast<size_t>(std::max<int64_t>(0, pos - at));
    size_t take = std::min<size_t>(c.size() - skip, static_cast<size_t>(max_bytes) - out.text.size());
    out.text.append(c, skip, take);
    pos += static_cast<int64_t>(take);
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return q.Error();
  out.next_offset = pos;
  return out;
}

// ---- releases ----

Result<msg::ReleaseRecord> ReleaseStore::Insert(const msg::ReleaseRecord& r) {
  Q ins(db_,
        "INSERT INTO app_releases (app, version, env, image, digest, config_version, formation, process_types, "
        "commit_sha, user, created_ms, build, description, state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'created')");
  ins.Text(1, r.app).Int(2, r.version).Text(3, EnvOf(r.app)).Text(4, r.image).Text(5, r.digest)
      .Int(6, r.config_version).Text(7, ToJson(r.formation)).Text(8, ToJson(r.process_types)).Text(9, r.commit)
      .Text(10, r.user).Int(11, r.created_ms).Int(12, r.build).Text(13, r.description);
  if (ins.Step() != SQLITE_DONE) return ins.Error();
  msg::ReleaseRecord out = r;
  out.state = "created";
  return out;
}

Result<msg::ReleaseRecord> ReleaseStore::CreateRelease(const msg::ReleaseCreate& req, int64_t now_ms) {
  if (Status s = ValidateApp(req.app); !s.ok()) return s;
  for (const auto& [what, v, max] : {std::tuple<const char*, const std::string&, size_t>{"image", req.image, 512},
                                     {"digest", req.digest, 128},
                                     {"commit", req.commit, 64},
                                     {"user", req.user, 128},
                                     {"description", req.description, 256}}) {
    if (Status s = CheckField(what, v, max); !s.ok()) return s;
  }
  if (req.process_types.size() > kMaxProcessTypes) return Status::Invalid("too many process types");
  for (const auto& [type, cmd] : req.process_types) {
    if (Status s = ValidateProcessType(type); !s.ok()) return s;
    // Stored as JSON (ToJson), which holds only UTF-8.
    if (cmd.size() > 4096 || cmd.find('\0') != std::string::npos || !IsUtf8(cmd))
      return Status::Invalid("process type " + type + ": bad command (at most 4096 bytes of UTF-8 text, no NUL)");
  }
  Txn t(db_);
  if (!t.status().ok()) return t.status();
  msg::ReleaseRecord r;
  r.app = req.app;
  if (req.from_version > 0) {
    if (!req.image.empty() || !req.process_types.empty()) {
      return Status::Invalid("a release copied from another names no image or process types of its own");
    }
    auto from = Release(req.app, req.from_version);
    if (!from.ok()) return from.status();
    r.image = from->image;
    r.digest = from->digest;
    r.process_types = from->process_types;
    r.commit = from->commit;
    r.build = from->build;
  } else {
    if (req.image.empty()) return Status::Invalid("a release needs an image");
    r.image = req.image;
    r.digest = req.digest;
    r.process_types = req.process_types;
    r.commit = req.commit;
    r.build = req.build;
  }
  if (!req.commit.empty()) r.commit = req.commit;
  r.user = req.user;
  r.description = req.description;
  r.created_ms = now_ms;
  auto cv = ConfigVersion(EnvOf(req.app));
  if (!cv.ok()) return cv.status();
  r.config_version = *cv;
  auto formation = Formation(req.app);
  if (!formation.ok()) return formation.status();
  r.formation = *formation;
  // Heroku's default: one web process, when the app has one and the formation
  // does not say otherwise.
  if (!r.formation.count("web") && r.process_types.count("web")) {
    r.formation["web"] = 1;
    if (Status s = SetFormation(req.app, {{"web", 1}}); !s.ok()) return s;
  }
  Q max(db_, "SELECT COALESCE(MAX(version), 0) FROM app_releases WHERE app = ?");
  if (max.Text(1, req.app).Step() != SQLITE_ROW) return max.Error();
  r.version = max.ColInt(0) + 1;
  auto out = Insert(r);
  if (!out.ok()) return out.status();
  if (Status s = t.Commit(); !s.ok()) return s;
  return out;
}

Status ReleaseStore::SetReleaseState(const std::string& app, int64_t version, const std::string& state,
                                     const std::string& detail) {
  if (state != "deployed" && state != "failed") return Status::Invalid("a release's state moves to deployed or failed");
  if (Status s = CheckField("detail", detail.substr(0, 1024), 1024); !s.ok()) return s;
  Q q(db_, "UPDATE app_releases SET state = ?, detail = ? WHERE app = ? AND version = ? AND state = 'created'");
  if (q.Text(1, state).Text(2, detail.substr(0, 1024)).Text(3, app).Int(4, version).Step() != SQLITE_DONE) {
    return q.Error();
  }
  if (sqlite3_changes(db_) == 0) {
    auto r = Release(app, version);
    if (!r.ok()) return r.status();
    if (r->state == state) return Status::Ok();  // a retry
    return Status::Conflict(app + " v" + std::to_string(version) + " is already " + r->state);
  }
  return Status::Ok();
}

Result<msg::ReleaseRecord> ReleaseStore::Release(const std::string& app, int64_t version) {
  std::string sql = std::string("SELECT ") + kReleaseCols + " FROM app_releases WHERE app = ? AND version = ?";
  Q q(db_, sql.c_str());
  int rc = q.Text(1, app).Int(2, version).Step();
  if (rc == SQLITE_DONE) return Status::NotFound(app + " has no release v" + std::to_string(version));
  if (rc != SQLITE_ROW) return q.Error();
  return ReadRelease(q);
}

Result<msg::ReleaseList> ReleaseStore::Releases(const std::string& app, int limit) {
  if (Status s = ValidateApp(app); !s.ok()) return s;
  msg::ReleaseList out;
  std::string sql = std::string("SELECT ") + kReleaseCols + " FROM app_releases WHERE app = ? ORDER BY version DESC LIMIT ?";
  Q q(db_, sql.c_str());
  q.Text(1, app).Int(2, limit > 0 ? limit : 50);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.releases.push_back(ReadRelease(q));
  if (rc != SQLITE_DONE) return q.Error();
  Q cur(db_, "SELECT COALESCE(MAX(version), 0) FROM app_releases WHERE app = ? AND state = 'deployed'");
  if (cur.Text(1, app).Step() != SQLITE_ROW) return cur.Error();
  out.current = cur.ColInt(0);
  auto f = Formation(app);
  if (!f.ok()) return f.status();
  out.formation = *f;
  return out;
}

Result<std::map<std::string, int32_t>> ReleaseStore::Formation(const std::string& app) {
  Q q(db_, "SELECT type, count FROM app_formation WHERE app = ? ORDER BY type");
  q.Text(1, app);
  std::map<std::string, int32_t> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out[q.ColText(0)] = static_cast<int32_t>(q.ColInt(1));
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

Status ReleaseStore::SetFormation(const std::string& app, const std::map<std::string, int32_t>& counts) {
  if (Status s = ValidateApp(app); !s.ok()) return s;
  if (counts.empty() || counts.size() > kMaxProcessTypes) return Status::Invalid("name 1-32 process types to scale");
  for (const auto& [type, n] : counts) {
    if (Status s = ValidateProcessType(type); !s.ok()) return s;
    if (n < 0 || n > kMaxReplicas) return Status::Invalid(type + "=" + std::to_string(n) + ": counts are 0-" + std::to_string(kMaxReplicas));
  }
  bool outer = sqlite3_get_autocommit(db_) != 0;  // CreateRelease calls this inside its transaction
  std::optional<Txn> t;
  if (outer) {
    t.emplace(db_);
    if (!t->status().ok()) return t->status();
  }
  for (const auto& [type, n] : counts) {
    Q q(db_, "INSERT INTO app_formation (app, type, count) VALUES (?,?,?) ON CONFLICT (app, type) DO UPDATE SET count = excluded.count");
    if (q.Text(1, app).Text(2, type).Int(3, n).Step() != SQLITE_DONE) return q.Error();
  }
  return outer ? t->Commit() : Status::Ok();
}

// ---- environment config ----

Result<int64_t> ReleaseStore::ConfigVersion(const std::string& env) {
  Q q(db_, "SELECT version FROM env_config_versions WHERE env = ?");
  int rc = q.Text(1, env).Step();
  if (rc == SQLITE_DONE) return int64_t{0};
  if (rc != SQLITE_ROW) return q.Error();
  return q.ColInt(0);
}

Result<std::vector<msg::ReleaseRecord>> ReleaseStore::BumpConfig(const std::string& env, const std::string& what,
                                                                 int64_t now_ms) {
  Txn t(db_);
  if (!t.status().ok()) return t.status();
  Q up(db_,
       "INSERT INTO env_config_versions (env, version) VALUES (?, 1) "
       "ON CONFLICT (env) DO UPDATE SET version = version + 1");
  if (up.Text(1, env).Step() != SQLITE_DONE) return up.Error();
  auto latest = LatestOfEnv(env);
  if (!latest.ok()) return latest.status();
  auto cv = ConfigVersion(env);
  if (!cv.ok()) return cv.status();
  std::vector<msg::ReleaseRecord> made;
  for (const auto& last : *latest) {
    // Copies the newest deployed release: a config change does not ship a
    // build that never went out.
    Q cur(db_, "SELECT COALESCE(MAX(version), 0) FROM app_releases WHERE app = ? AND state = 'deployed'");
    if (cur.Text(1, last.app).Step() != SQLITE_ROW) return cur.Error();
    if (cur.ColInt(0) == 0) continue;
    auto base = Release(last.app, cur.ColInt(0));
    if (!base.ok()) return base.status();
    msg::ReleaseRecord r = *base;
    r.version = last.version + 1;
    r.config_version = *cv;
    r.created_ms = now_ms;
    r.user = "";
    r.description = ("config " + what).substr(0, 256);
    r.detail.clear();
    auto f = Formation(last.app);
    if (!f.ok()) return f.status();
    r.formation = *f;
    auto ins = Insert(r);
    if (!ins.ok()) return ins.status();
    made.push_back(std::move(*ins));
  }
  if (Status s = t.Commit(); !s.ok()) return s;
  return made;
}

Result<std::vector<msg::ReleaseRecord>> ReleaseStore::LatestOfEnv(const std::string& env) {
  std::string sql = std::string("SELECT ") + kReleaseCols +
                    " FROM app_releases r WHERE env = ? AND version = "
                    "(SELECT MAX(version) FROM app_releases WHERE app = r.app) ORDER BY app";
  Q q(db_, sql.c_str());
  q.Text(1, env);
  std::vector<msg::ReleaseRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadRelease(q));
  if (rc != SQLITE_DONE) return q.Error();
  return out;
}

}  // namespace rv::sauron
