#include "strider/sim_workload.h"

namespace rv::strider {

Status SimWorkload::Start(const msg::JobSpec&, const std::map<std::string, std::string>&) {
  state_ = RunState::kStarting;
  cb_(state_, "");
  state_ = RunState::kRunning;
  cb_(state_, "simulated");
  return Status::Ok();
}

void SimWorkload::Stop(std::chrono::milliseconds) {
  if (state_ == RunState::kStopped) return;
  state_ = RunState::kStopped;
  cb_(state_, "");
}

}  // namespace rv::strider
