// The rollout loop: turns a release and a formation into jobs on the pod,
// following DecideRollout's plan (rollout.h) until the release runs or is
// rolled back, and says what happens in progress lines.
//
// Contract:
//  * All I/O goes through RolloutIo (sauron's admin API in rv and rv-deploy,
//    a fake in tests) and time through its clock, so the loop is testable.
//  * Every job of an app is named by JobFor (service ServiceName(app, type,
//    vN), env TENANT/ENV, web replicas HA with PORT and a TCP health check on
//    it); its release is read back from the service.
//  * The loop is bounded: it ends when the plan is done, when it failed (the
//    target's replicas are then stopped, the old ones kept), or after
//    boot_timeout_ms plus a grace, whatever sauron says. Within that bound an
//    unanswered request (kUnavailable: sauron restarting) is retried, not fatal.
//  * Crashes are seen on the event log (job.state events "exited: ..." or
//    "failed: ..."), not only in job listings that could miss a quick restart.
//  * Not thread-safe; one rollout per app at a time is the caller's lock
//    (gitrecv's per-app lock for pushes).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/msg/releases.h"
#include "common/msg/types.h"
#include "common/status.h"
#include "deploy/rollout.h"

namespace rv::deploy {

class RolloutIo {
 public:
  virtual ~RolloutIo() = default;
  virtual Result<std::vector<msg::JobRecord>> Jobs() = 0;  // every job sauron lists
  virtual Result<int64_t> LastEventSeq() = 0;
  virtual Result<std::vector<msg::Event>> EventsAfter(int64_t seq) = 0;
  virtual Status Submit(std::vector<msg::JobSpec> jobs) = 0;
  virtual Status Stop(const std::vector<std::string>& ids) = 0;
  virtual int64_t NowMs() = 0;
  virtual void SleepMs(int ms) = 0;
};

struct RolloutOptions {
  int64_t boot_timeout_ms = 60000;
  int32_t web_port = 5000;
  int32_t poll_ms = 100;  // how often the loop lists the pod's jobs (a push sees healthy within this)
  msg::Resources resources{128, 64, 100};
  int64_t release_phase_timeout_ms = 300000;
  // When the target runs web processes: submit the environment's proxy jobs
  // (common/proxy_job.h) that are not there, once, before the rollout
  // (docs/PROXY.md "Environment proxy"). "" = do not (rv rollback, ps:scale).
  std::string proxy_image;
};

using Progress = std::function<void(const std::string& line)>;

// Six random hex digits: what makes a job id unique (JobFor's `nonce`).
std::string Nonce();
// The job `id` in `jobs`; null if it is not there.
const msg::JobRecord* FindJob(const std::vector<msg::JobRecord>& jobs, const std::string& id);

// The job of one replica. `nonce` makes its id unique (a replica number comes
// back after a scale down and up; sauron never reuses an id).
msg::JobSpec JobFor(const msg::ReleaseRecord& r, const std::string& type, int32_t replica, const RolloutOptions& o,
                    const std::string& nonce);
// The argv a process type runs as: through the buildpack launcher when the
// image has one (`/bin/sh /app/.rv/launch LINE`: it sources .profile.d), else
// `/bin/sh -c LINE`. LINE is always the last argument (sauron's audit of a
// console job quotes it).
std::vector<std::string> CommandFor(const std::string& command);
// The app's jobs that are not stopped, as DecideRollout sees them.
std::vector<AppJob> AppJobsOf(const std::string& app, const std::vector<msg::JobRecord>& jobs);

// The env's proxy jobs missing from `jobs` (not there, or stopped).
std::vector<msg::JobSpec> MissingProxyJobs(const std::string& env, const std::vector<msg::JobRecord>& jobs,
                                           const std::string& image);

struct RolloutOutcome {
  bool ok = false;
  std::string why;                        // !ok: one line
  std::vector<msg::JobRecord> running;    // ok: the target's replicas
};

// Rolls `target` out with `formation`; `current` is the app's deployed
// release (0 = none), whose replicas stop at the cut-over; replicas of any
// other release stop at once. Progress lines are Heroku-style ("-----> ..."
// steps, "       ..." details).
RolloutOutcome RunRollout(RolloutIo& io, const msg::ReleaseRecord& target, int64_t current,
                          const std::map<std::string, int32_t>& formation, const RolloutOptions& o,
                          const Progress& progress);

}  // namespace rv::deploy
