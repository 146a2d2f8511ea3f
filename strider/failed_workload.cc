#include "strider/failed_workload.h"

namespace rv::strider {
namespace {

class Failed : public Workload {
 public:
  Failed(Status why, StateCallback cb) : why_(std::move(why)), cb_(std::move(cb)) {}
  Status Start(const msg::JobSpec&, const std::map<std::string, std::string>&) override {
    state_ = RunState::kFailed;
    if (cb_) cb_(state_, why_.message());
    return why_;
  }
  void Stop(std::chrono::milliseconds) override {
    state_ = RunState::kStopped;
    if (cb_) cb_(state_, "");
  }
  void Poll(int64_t) override {}
  RunState state() const override { return state_; }
  bool done() const override { return state_ == RunState::kFailed || state_ == RunState::kStopped; }

 private:
  Status why_;
  StateCallback cb_;
  RunState state_ = RunState::kNone;
};

}  // namespace

std::unique_ptr<Workload> FailedWorkload(Status why, StateCallback on_state) {
  return std::make_unique<Failed>(std::move(why), std::move(on_state));
}

}  // namespace rv::strider
