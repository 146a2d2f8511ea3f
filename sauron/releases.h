// ReleaseStore: apps' builds (with their whole output), immutable releases,
// formations, and each environment's config version, in sauron's database.
//
// Contract:
//  * An app is its full name TENANT/ENV/APP (ValidateApp); its environment is
//    TENANT/ENV. Tables are keyed by that string, so they need no apps table.
//  * Builds are numbered per app from 1; a build is running until finished
//    once (succeeded or failed). Output is appended in chunks (at most
//    kMaxChunkBytes each) and kept whole up to kMaxOutputBytes per build; past
//    that it is dropped and the output ends with a line saying so.
//  * Releases are numbered per app from 1 (vN) and never change after creation
//    except `state`, which moves once: created -> deployed | failed. The
//    current release is the newest deployed one.
//  * A release records the environment's config version: a counter bumped by
//    every config change (BumpConfig), which also creates a new release (same
//    image, new config version) for each app of the environment that has a
//    deployed release.
//  * Every method is one SQLite transaction on its own connection to sauron's
//    database file (like EnvConfigStore); the caller appends the events.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/msg/releases.h"
#include "common/status.h"

namespace rv::sauron {

class ReleaseStore {
 public:
  static constexpr size_t kMaxChunkBytes = 256 * 1024;
  static constexpr int64_t kMaxOutputBytes = 16 << 20;
  static constexpr int32_t kMaxReplicas = 100;
  static constexpr size_t kMaxProcessTypes = 32;

  static Result<std::unique_ptr<ReleaseStore>> Open(const std::string& db_path);
  ~ReleaseStore();
  ReleaseStore(const ReleaseStore&) = delete;
  ReleaseStore& operator=(const ReleaseStore&) = delete;

  // TENANT/ENV/APP, each part 1-63 chars of [a-z0-9-] starting with a letter
  // or digit.
  static Status ValidateApp(const std::string& app);
  static std::string EnvOf(const std::string& app);  // "acme/prod/web" -> "acme/prod"
  static Status ValidateProcessType(const std::string& type);

  // ---- builds ----
  Result<msg::BuildRecord> StartBuild(const std::string& app, const std::string& commit, const std::string& user,
                                      int64_t now_ms);
  Status AppendOutput(const std::string& app, int64_t number, const std::string& chunk);
  Status FinishBuild(const msg::BuildFinish& f, int64_t now_ms);
  Result<std::vector<msg::BuildRecord>> Builds(const std::string& app, int limit);
  Result<msg::BuildOutput> Output(const std::string& app, int64_t number, int64_t offset, int64_t max_bytes);

  // ---- releases ----
  Result<msg::ReleaseRecord> CreateRelease(const msg::ReleaseCreate& req, int64_t now_ms);
  Status SetReleaseState(const std::string& app, int64_t version, const std::string& state, const std::string& detail);
  Result<msg::ReleaseList> Releases(const std::string& app, int limit);
  Result<msg::ReleaseRecord> Release(const std::string& app, int64_t version);
  Result<std::map<std::string, int32_t>> Formation(const std::string& app);
  Status SetFormation(const std::string& app, const std::map<std::string, int32_t>& counts);

  // ---- environment config ----
  Result<int64_t> ConfigVersion(const std::string& env);
  // Bumps env's config version and creates, for each app of env whose newest
  // release is deployed, a release copying it with the new config version.
  // Returns the releases created.
  Result<std::vector<msg::ReleaseRecord>> BumpConfig(const std::string& env, const std::string& what,
                                                     int64_t now_ms);
  // The newest release of each app of env.
  Result<std::vector<msg::ReleaseRecord>> LatestOfEnv(const std::string& env);

 private:
  explicit ReleaseStore(sqlite3* db) : db_(db) {}
  Status Init();
  Status Exec(const char* sql);
  Result<msg::BuildRecord> LoadBuild(const std::string& app, int64_t number);
  Result<msg::ReleaseRecord> Insert(const msg::ReleaseRecord& r);

  sqlite3* db_;
};

}  // namespace rv::sauron
