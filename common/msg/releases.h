// Messages of apps' builds and releases (issue 17: git push deploys).
//
//   rv-deploy, rv (CLI) --DEALER--> sauron ROUTER   admin.build_*, admin.release_*,
//                                                   admin.releases, admin.builds,
//                                                   admin.build_output, admin.formation_set
//
// An app is named by its full name TENANT/ENV/APP (e.g. "acme/prod/web"); its
// environment (JobSpec.env, the config scope) is TENANT/ENV. A build record
// keeps a build's whole output; a release (vN, numbered per app from 1) is
// immutable once created except for its `state`. The formation (process type
// -> replica count) belongs to the app and is copied into each release when it
// is created. Every change is an event in sauron's log (build.*, release.*,
// formation.set).
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

struct BuildRecord {
  static constexpr const char* kType = "build_record";
  int64_t number = 0;               // per app, from 1
  std::string app;
  std::string commit;
  std::string user;
  std::string state;                // running | succeeded | failed
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string image;                // REPO@sha256:... (succeeded)
  std::string digest;               // sha256:...
  std::string error;                // failed: one line
  int64_t output_bytes = 0;
  RV_DEFINE_MAP(number, app, commit, user, state, started_ms, finished_ms, image, digest, error, output_bytes);
};

struct ReleaseRecord {
  static constexpr const char* kType = "release_record";
  std::string app;
  int64_t version = 0;              // vN, per app, from 1
  std::string image;                // REPO@sha256:...
  std::string digest;
  int64_t config_version = 0;       // the environment's config version when created
  std::map<std::string, int32_t> formation;             // process type -> replicas
  std::map<std::string, std::string> process_types;     // process type -> command
  std::string commit;
  std::string user;
  int64_t created_ms = 0;
  int64_t build = 0;                // build number; 0 = no build (rollback, config)
  std::string description;          // "deploy abc123", "rollback to v2", "config set A"
  std::string state;                // created | deployed | failed
  std::string detail;               // failed: why
  RV_DEFINE_MAP(app, version, image, digest, config_version, formation, process_types, commit, user, created_ms,
                build, description, state, detail);
};

// ---- builds ----
struct BuildStart {                 // reply payload: BuildRecord
  static constexpr const char* kType = "admin.build_start";
  std::string app, commit, user;
  RV_DEFINE_MAP(app, commit, user);
};
struct BuildAppend {                // reply: ok (output beyond the limit is dropped, the record says so)
  static constexpr const char* kType = "admin.build_append";
  std::string app;
  int64_t number = 0;
  std::string chunk;
  std::string job_id;               // a host (the build job's strider): the build job placed on it
  RV_DEFINE_MAP(app, number, chunk, job_id);
};
struct BuildFinish {                // reply: ok; only a running build finishes
  static constexpr const char* kType = "admin.build_finish";
  std::string app;
  int64_t number = 0;
  bool ok = false;
  std::string image, digest, error;
  RV_DEFINE_MAP(app, number, ok, image, digest, error);
};
struct BuildsRequest {              // reply payload: BuildList (newest first)
  static constexpr const char* kType = "admin.builds";
  std::string app;
  int32_t limit = 50;
  RV_DEFINE_MAP(app, limit);
};
struct BuildList {
  static constexpr const char* kType = "build_list";
  std::vector<BuildRecord> builds;
  RV_DEFINE_MAP(builds);
};
struct BuildOutputRequest {         // reply payload: BuildOutput
  static constexpr const char* kType = "admin.build_output";
  std::string app;
  int64_t number = 0;
  int64_t offset = 0;
  int64_t max_bytes = 1 << 20;
  RV_DEFINE_MAP(app, number, offset, max_bytes);
};
struct BuildOutput {
  static constexpr const char* kType = "build_output";
  BuildRecord build;
  std::string text;
  int64_t next_offset = 0;          // == build.output_bytes: all read
  RV_DEFINE_MAP(build, text, next_offset);
};

// ---- releases ----
// Creates vN+1 for `app`. With from_version > 0 (rollback) the image and
// process types are copied from that release and image/process_types must be
// empty. The formation is the app's, the config version the environment's.
struct ReleaseCreate {              // reply payload: ReleaseRecord
  static constexpr const char* kType = "admin.release_create";
  std::string app;
  std::string image, digest;
  std::map<std::string, std::string> process_types;
  std::string commit, user, description;
  int64_t build = 0;
  int64_t from_version = 0;
  RV_DEFINE_MAP(app, image, digest, process_types, commit, user, description, build, from_version);
};
struct ReleaseState {               // created -> deployed | failed; reply: ok
  static constexpr const char* kType = "admin.release_state";
  std::string app;
  int64_t version = 0;
  std::string state;
  std::string detail;
  RV_DEFINE_MAP(app, version, state, detail);
};
struct ReleasesRequest {            // reply payload: ReleaseList (newest first)
  static constexpr const char* kType = "admin.releases";
  std::string app;
  int32_t limit = 50;
  RV_DEFINE_MAP(app, limit);
};
struct ReleaseList {
  static constexpr const char* kType = "release_list";
  std::vector<ReleaseRecord> releases;
  std::map<std::string, int32_t> formation;   // the app's formation now
  int64_t current = 0;                        // newest deployed release, 0 = none
  RV_DEFINE_MAP(releases, formation, current);
};
// Sets the given process types' counts (others unchanged; 0 removes one).
struct FormationSet {               // reply payload: ReleaseList (limit 1)
  static constexpr const char* kType = "admin.formation_set";
  std::string app;
  std::map<std::string, int32_t> counts;
  RV_DEFINE_MAP(app, counts);
};
// The releases `rv config:set ENV` made: for each app of ENV with a deployed
// release, a new release with the new config version (state created; the
// caller rolls it out).
struct EnvReleasesRequest {         // reply payload: ReleaseList (newest release per app of env)
  static constexpr const char* kType = "admin.env_releases";
  std::string env;
  RV_DEFINE_MAP(env);
};

}  // namespace rv::msg
