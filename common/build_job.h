// A build as an auctioned job (issue 17 item 3): what rv-deploy submits, what
// the strider that wins it runs, and who may write its output.
//
// Contract:
//  * A build job is a msg::JobSpec with kind "build", rules.constraints
//    role=build, restart "never", and its inputs in `config` under RV_BUILD_*
//    keys (MakeBuildJobSpec). Its source is a one-layer image in the pod's
//    registry, named by digest (`sources/TENANT/ENV/APP@sha256:...`); the image
//    it produces (`apps/TENANT/ENV/APP:bN`) and its cache
//    (`cache/TENANT/ENV/APP`) are derived from the app name, never taken from
//    the job, so a job cannot make a builder write another app's image.
//  * ParseBuildJob treats the spec as hostile: every field is validated (names,
//    digest, stack reference, numbers in range, config var names) and the
//    result is safe to put on a command line (BuilderArgv, no shell).
//  * MayAppendBuildOutput: a host may write the output of build N of app A only
//    while a build job for exactly (A, N) is placed on it.
//  * Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv::build_job {

inline constexpr const char* kKind = "build";
inline constexpr const char* kApp = "RV_BUILD_APP";              // TENANT/ENV/APP
inline constexpr const char* kNumber = "RV_BUILD_NUMBER";        // the build record's number
inline constexpr const char* kSource = "RV_BUILD_SOURCE";        // sources/TENANT/ENV/APP@sha256:<64 hex>
inline constexpr const char* kStack = "RV_BUILD_STACK";          // REPO:TAG in the pod's registry, or auto ("" = builder's default)
inline constexpr const char* kTimeout = "RV_BUILD_TIMEOUT_S";
inline constexpr const char* kEnvPrefix = "RV_BUILD_ENV_";       // + NAME: a plain config var for ENV_DIR

struct BuildJob {
  std::string app;                          // TENANT/ENV/APP
  int64_t number = 0;
  std::string source;                       // sources/APP@sha256:...
  std::string stack;                        // "" = the builder's default
  int32_t timeout_s = 900;
  int64_t memory_mb = 1024;                 // the job's ram_mb: reserved by the strider, the build's memory limit
  int64_t cpu_millis = 1000;
  std::map<std::string, std::string> env;   // plain config vars (never secrets)

  std::string SourceRepo() const { return "sources/" + app; }
  std::string ImageRef() const { return "apps/" + app + ":b" + std::to_string(number); }
  std::string CacheRepo() const { return "cache/" + app; }
};

// The job rv-deploy submits; `nonce` (hex) makes its id unique.
msg::JobSpec MakeBuildJobSpec(const BuildJob& b, const std::string& nonce);

Result<BuildJob> ParseBuildJob(const msg::JobSpec& spec);

// What the strider gives the builder besides the job.
struct BuilderHost {
  std::string builder;          // the builder binary
  std::string registry;         // HOST:PORT, the registry this host pulls from
  std::string registry_ca;      // "" = plain http; else the pod CA (https)
  std::string registry_auth;    // the builder's push credential file, "" = none
  std::string state_dir;        // the builder's image store and runc state on this host
  std::string work_dir;         // "" = <state_dir>/work; builds' dirs, each removed after its build
  std::string env_dir;          // "" = no config vars
  std::string report_sauron;    // sauron's API endpoint
  std::string report_server_key;  // sauron's public key (Z85)
  std::string report_key_file;  // this host's key pair file
  std::string job_id;
};
std::vector<std::string> BuilderArgv(const BuildJob& b, const BuilderHost& h);

Status MayAppendBuildOutput(const msg::JobRecord& job, const std::string& host_id, const std::string& app,
                            int64_t number);

// "sources/APP@sha256:<64 lowercase hex>" for exactly this app.
Status ValidateSourceRef(const std::string& app, const std::string& ref);

}  // namespace rv::build_job
