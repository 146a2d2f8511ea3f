// Rollout decisions: given an app's formation, the release to run and the
// app's current jobs, what to start and what to stop next. Pure: no I/O, no
// clock (now is an input), so tests drive every case (rollout_test.cc); the
// loop that feeds it and carries its plan out is rollout_driver.h.
//
// Rules:
//  * A job belongs to a process type and a release (its service is
//    "<app>:<type>.v<N>", see ServiceName). Jobs of the target release are
//    "new", those of the current (deployed) release "old". Jobs of any other
//    release are left over from an interrupted rollout (rv-deploy killed):
//    they stop at once, so the app never runs a mix for longer than that.
//  * New replicas are started until each process type of the target runs
//    formation[type] of them (types the release does not define run none).
//    Extra new replicas stop at once (a scale down).
//  * Old replicas stop only when every wanted new replica of every type is
//    `running` (its health check passed): the cut-over is for the whole
//    release, never a mix of half the types.
//  * The target fails (the plan stops all its jobs and keeps the old ones) when
//    a new replica crashed at boot (exited or failed before the cut-over) or
//    when not all of them are running boot_timeout_ms after the rollout began.
//    Once the old replicas are gone there is nothing to go back to, so a crash
//    after the cut-over is left to the host's restart policy.
//  * Without old replicas (a first deploy, or a scale of the running release)
//    only the boot timeout fails the rollout (a crash may still be restarted),
//    and only the target's replicas that are not running are stopped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rv::deploy {

struct AppJob {
  std::string id;
  std::string type;        // process type
  int64_t release = 0;     // vN
  int32_t replica = 0;
  std::string state;       // pending | awarded | placed (stopped jobs are not passed)
  std::string run_state;   // "" | starting | running | unhealthy | exited | failed | stopped
  bool crashed = false;    // exited or failed at least once since it was submitted
};

struct RolloutInput {
  int64_t target = 0;                                // release to run
  int64_t current = 0;                               // the deployed release (0 = none)
  std::map<std::string, int32_t> formation;          // type -> replicas wanted
  std::map<std::string, std::string> process_types;  // the target's types -> command
  std::vector<AppJob> jobs;                          // the app's jobs that are not stopped
  int64_t now_ms = 0;
  int64_t started_ms = 0;                            // when this rollout began
  int64_t boot_timeout_ms = 60000;
};

struct StartReplica {
  std::string type;
  int32_t replica = 0;
  bool operator==(const StartReplica& o) const { return type == o.type && replica == o.replica; }
};

struct RolloutPlan {
  std::vector<StartReplica> start;
  std::vector<std::string> stop;   // job ids
  bool done = false;               // the target runs as the formation says, nothing old is left
  bool failed = false;             // roll back: `stop` holds the target's jobs
  std::string why;                 // failed: one line
  bool cut_over = false;           // every new replica is running: `stop` holds the old ones
};

RolloutPlan DecideRollout(const RolloutInput& in);

// "<app>:<type>.v<N>": replicas of one type and release are one HA service.
std::string ServiceName(const std::string& app, const std::string& type, int64_t release);
// Reads ServiceName's form back; nullopt for a service of another app.
struct ServiceParts {
  std::string type;
  int64_t release = 0;
};
std::optional<ServiceParts> ParseServiceName(const std::string& app, const std::string& service);

}  // namespace rv::deploy
