// SimWorkload: a workload with no process behind it, for the pod-scale
// benchmark (a thousand simulated hosts in one process). Start reports
// starting then running at once; Stop reports stopped at once.
#pragma once

#include "strider/workload.h"

namespace rv::strider {

class SimWorkload : public Workload {
 public:
  explicit SimWorkload(StateCallback cb) : cb_(std::move(cb)) {}
  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override;
  void Stop(std::chrono::milliseconds grace) override;
  void Poll(int64_t) override {}
  bool NeedsPoll() const override { return false; }
  RunState state() const override { return state_; }
  bool done() const override { return state_ == RunState::kStopped; }

 private:
  StateCallback cb_;
  RunState state_ = RunState::kNone;
};

class SimWorkloadFactory : public WorkloadFactory {
 public:
  std::unique_ptr<Workload> Create(const msg::JobSpec&, StateCallback on_state) override {
    return std::make_unique<SimWorkload>(std::move(on_state));
  }
};

}  // namespace rv::strider
