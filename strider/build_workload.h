// BuildWorkload: a build job (kind "build", common/build_job.h) on the host
// that won it. It runs this host's `builder run` as a plain process (the
// ProcessWorkload: own process group, log in <data-dir>/logs/<job>.log,
// SIGTERM then SIGKILL on stop, restart never); the builder makes the build's
// runc container itself (unprivileged, limits, no network: docs/BUILDER.md),
// fetches the source by digest and streams its output to the build record as
// this host (--report-*).
//
// Contract:
//  * The builder's argv comes only from ParseBuildJob (a hostile spec fails
//    the job with the reason, nothing runs) and this host's own settings;
//    the job's `command`, `image` and `config` are never run or exported.
//  * The build's plain config vars are written to a 0700 dir of files under
//    <data-dir>/builds (its --env-dir), removed when the build ends or stops.
//  * A strider killed mid-build leaves that dir: the next strider of the data
//    dir removes such leftovers at start (RemoveLeftoverBuildEnvDirs). The
//    builder cleans its own per-build work dirs (CleanStaleBuilds).
//  * Not thread-safe: the agent's loop owns it, like every workload.
#pragma once

#include <memory>
#include <string>

#include "common/build_job.h"
#include "strider/workload.h"

namespace rv::strider {

struct BuildHostOptions {
  std::string builder;          // the builder binary; "" = this host runs no builds
  std::string registry;         // HOST:PORT this host pulls from
  std::string registry_ca;      // the pod CA ("" = plain http)
  std::string registry_auth;    // the builder's push credential (only a build host has one)
  std::string data_dir;         // <data-dir>: builder state in builder/, env dirs in builds/
  // Where builds' dirs are made (each removed after its build). The build
  // user must reach them through every parent (it reads its copy of the
  // source there to choose the stack), which a private pod or data dir may
  // not allow: the strider gives one under /var/lib/rivendell/build-work/.
  // "" = the builder's default, <data-dir>/builder/work.
  std::string work_dir;
  std::string sauron_api;       // for --report-*
  std::string sauron_public_key;
  std::string key_file;         // this host's key pair
};

class BuildWorkloadFactory : public WorkloadFactory {
 public:
  BuildWorkloadFactory(std::shared_ptr<WorkloadFactory> processes, BuildHostOptions o)
      : processes_(std::move(processes)), o_(std::move(o)) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec& spec, StateCallback on_state) override;

 private:
  std::shared_ptr<WorkloadFactory> processes_;
  BuildHostOptions o_;
};

// Removes <data_dir>/builds/env-* (the config dirs of builds a previous
// strider of this data dir ran); returns how many. Only at start, before any
// build runs: a builder dies with its strider (PR_SET_PDEATHSIG), so none is
// in use then.
int RemoveLeftoverBuildEnvDirs(const std::string& data_dir);

// The process job that runs the build (pure; exposed for tests).
Result<msg::JobSpec> BuilderProcessSpec(const msg::JobSpec& build, const BuildHostOptions& o, const std::string& env_dir);

}  // namespace rv::strider
