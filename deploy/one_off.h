// One-off commands: `rv run TENANT/ENV/APP -- COMMAND` (the console, like
// `heroku run`): the command runs once in a new container of the app's
// current release (its image, config and secrets, on its environment's
// overlay), its output comes back as it is written, and rv exits with the
// command's exit code. Never a shell on a host: the command runs in the app's
// own container, with the app's rights.
//
// Contract:
//  * OneOffJob (pure): kind "console", process type "run" (service
//    "<app>:run.vN": rollouts leave such jobs alone, see AppJobsOf), restart
//    never, no port (so never routed by a proxy), the command line run like a
//    Procfile line (CommandFor: the buildpack launcher when the image has one).
//  * RunOneOff: submits the job, says where it runs, passes each chunk of its
//    output to `output` as it comes, and returns its exit code (128+N for a
//    signal N) once it ended and its output is read to the end. The job is
//    stopped at the end in every case: exited, failed to start, not placed
//    within start_timeout_ms, or interrupted (then the result is Cancelled's
//    Unavailable). Output lost to a log rotation is said, not hidden.
//  * StartDetached (`rv run --detach`, Heroku's run:detached): submits the
//    job marked detached (kRunDetachedVar) and returns once it runs (or has
//    already ended), saying where; nobody waits for it: sauron stops its job
//    when it ends, its log still readable. Not placed or started within
//    start_timeout_ms: stopped, Unavailable; failed to start: Invalid.
//  * RunReleasePhase: a release's `release` process type (Heroku's release
//    phase) as such a one-off before the rollout, its output passed on as
//    progress lines; ok only on exit code 0.
//  * I/O and time are injected (RolloutIo, a log step), so tests drive it with
//    fakes. Not thread-safe.
#pragma once

#include <functional>
#include <string>

#include "common/msg/logs.h"
#include "common/msg/releases.h"
#include "deploy/rollout_driver.h"

namespace rv::deploy {

inline constexpr char kOneOffType[] = "run";

msg::JobSpec OneOffJob(const msg::ReleaseRecord& r, const std::string& command_line, const RolloutOptions& o,
                       const std::string& nonce);

struct OneOffOptions {
  int64_t start_timeout_ms = 120000;  // submitted -> running (placement, image pull)
  int32_t poll_ms = 200;              // how often the job's state and log are looked at
  int64_t max_run_ms = 0;             // submitted -> exited, 0 = unbounded; then stopped
};

using LogStep = std::function<Result<msg::LogChunk>()>;

// The exit code in a run_detail ("code 3", "signal 9" -> 137); nullopt if none.
std::optional<int> ExitCodeOf(const std::string& run_detail);

Result<int> RunOneOff(RolloutIo& io, const msg::JobSpec& job, const OneOffOptions& o, const LogStep& log_step,
                      const std::function<void(const std::string&)>& output, const Progress& progress,
                      const std::function<bool()>& interrupted);

// Returns the host it runs on.
Result<std::string> StartDetached(RolloutIo& io, msg::JobSpec job, const OneOffOptions& o, const Progress& progress);

// Runs the release's `release` process type, if it has one, once and waits
// for it to exit, within o.release_phase_timeout_ms: ok only on exit code 0.
// Its output comes as progress lines ("       <line>"); logs_of(job id)
// reads it. Its job is stopped afterwards.
Status RunReleasePhase(RolloutIo& io, const msg::ReleaseRecord& target, const RolloutOptions& o,
                       const Progress& progress, const std::function<LogStep(const std::string& job_id)>& logs_of);

}  // namespace rv::deploy
