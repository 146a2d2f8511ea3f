// ProcessWorkload: runs a job's `command` as a plain child process.
//
// The child gets its own process group (so a stop reaches everything it
// spawned), dies with the agent (PR_SET_PDEATHSIG: a plain process has no
// runtime to outlive us; the next agent restarts what sauron says is placed
// here), stdin from /dev/null, stdout and stderr appended to
// <log_dir>/<job id>.log. The log is bounded: past log_max_bytes it is moved
// to <job id>.log.1 (replacing the previous one) and truncated, so a job's
// logs never take more than twice that.
//
// The environment is PATH/HOME/LANG of the agent, the job's config, the
// secrets, and RV_JOB_ID / RV_SERVICE / RV_ATTEMPT / PORT.
//
// Restart policy (spec.restart): always | on-failure (exit code != 0, killed
// by a signal, or exec failure) | never. Restarts wait an exponential backoff,
// backoff_initial_ms doubling up to backoff_max_ms, reset once a run lasted
// stable_after_ms. Stop(grace): SIGTERM to the group, SIGKILL after grace.
#pragma once

#include <sys/types.h>

#include "strider/workload.h"

namespace rv::strider {

struct ProcessOptions {
  std::string log_dir = ".";
  int64_t log_max_bytes = 1 << 20;
  int backoff_initial_ms = 250;
  int backoff_max_ms = 30000;
  int stable_after_ms = 10000;
};

class ProcessWorkload : public Workload {
 public:
  ProcessWorkload(ProcessOptions opts, StateCallback cb) : opts_(std::move(opts)), cb_(std::move(cb)) {}
  ~ProcessWorkload() override;

  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override;
  void Stop(std::chrono::milliseconds grace) override;
  void Poll(int64_t now_ms) override;
  RunState state() const override { return state_; }
  bool done() const override { return done_; }

  pid_t pid() const { return pid_; }
  int restarts() const { return restarts_; }
  // The delay before the next restart, for tests and logs.
  int64_t next_backoff_ms() const;
  std::string log_path() const;

 private:
  Status Spawn(int64_t now_ms);
  void Emit(RunState s, const std::string& detail);
  void AfterEnd(int64_t now_ms, bool failure, RunState s, const std::string& detail);
  void BoundLog();

  ProcessOptions opts_;
  StateCallback cb_;
  msg::JobSpec spec_;
  std::map<std::string, std::string> secrets_;
  RunState state_ = RunState::kNone;
  bool done_ = false;
  bool stopping_ = false;
  pid_t pid_ = -1;
  int64_t started_ms_ = 0;
  int64_t kill_at_ms_ = 0;
  int64_t restart_at_ms_ = -1;
  int consecutive_failures_ = 0;
  int restarts_ = 0;
  int64_t last_log_check_ms_ = 0;
};

class ProcessWorkloadFactory : public WorkloadFactory {
 public:
  explicit ProcessWorkloadFactory(ProcessOptions opts) : opts_(std::move(opts)) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec&, StateCallback on_state) override {
    return std::make_unique<ProcessWorkload>(opts_, std::move(on_state));
  }

 private:
  ProcessOptions opts_;
};

}  // namespace rv::strider
