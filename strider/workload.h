// Workload: one job's running thing on this host, as the agent sees it.
//
// The agent does not care whether a job is a plain process, a runc container or
// nothing at all (simulation): it calls Start once, Stop when the job is no
// longer this host's, and Poll from its loop; the workload reports every state
// change through the callback given at creation:
//
//   starting -> running -> exited(detail "code N" / "signal N")   [-> starting ... restart]
//   starting -> failed(reason)                                     [-> starting ... restart]
//   any      -> stopped                                            (after Stop; final)
//   running <-> unhealthy   (a declared health check fails while the process lives)
//
// Restart policy and backoff belong to the workload (it knows when its thing
// died). Callbacks are invoked from Start/Stop/Poll on the caller's thread and
// must not destroy the workload. A workload is done() once stopped, or once it
// exited/failed and its policy says not to restart.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/msg/types.h"
#include "common/states.h"
#include "common/status.h"

namespace rv::strider {

using rv::RunState;  // common/states.h
using rv::RunStateName;

using StateCallback = std::function<void(RunState state, const std::string& detail)>;

class Workload {
 public:
  virtual ~Workload() = default;
  // Starts the job. `secrets` are extra environment variables never logged.
  // An error here is also reported as failed(reason).
  virtual Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) = 0;
  // Asks the job to stop: SIGTERM (or the runtime's equivalent), then after
  // `grace` a hard kill. Reports stopped when it is gone.
  virtual void Stop(std::chrono::milliseconds grace) = 0;
  // Drives timers (restart backoff, kill deadline, log bounds) and reaping.
  virtual void Poll(int64_t now_ms) = 0;
  // Live restore (docs/SCEPTRE.md): takes over this job's thing left running
  // by an earlier agent, without restarting it. NotFound when nothing of it
  // runs (the caller then Starts it); kinds that cannot outlive their agent
  // (plain processes die with it) return NotFound always.
  virtual Status Adopt(const msg::JobSpec&) { return Status::NotFound("this workload kind cannot be adopted"); }
  // Lets go of the thing without stopping it (the agent exits for an
  // upgrade); a later agent Adopts it. Kinds that cannot outlive us stop.
  virtual void Release() { Stop(std::chrono::milliseconds(0)); }
  // The image's manifest digest once known ("" otherwise, or no image).
  virtual std::string image_digest() const { return ""; }
  // False for a workload whose Poll does nothing, so an owner may skip it.
  virtual bool NeedsPoll() const { return true; }
  virtual RunState state() const = 0;
  virtual bool done() const = 0;
};

class WorkloadFactory {
 public:
  virtual ~WorkloadFactory() = default;
  virtual std::unique_ptr<Workload> Create(const msg::JobSpec& spec, StateCallback on_state) = 0;
};

}  // namespace rv::strider
