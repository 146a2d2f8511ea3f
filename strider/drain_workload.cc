#include "strider/drain_workload.h"

namespace rv::strider {

bool Drains(const msg::JobSpec& spec) {
  return spec.kind == "deploy" && !spec.env.empty() && !spec.image.empty() && spec.port > 0;
}

void DrainingWorkload::Stop(std::chrono::milliseconds grace) {
  RunState s = inner_->state();
  if (pending_) return;
  if (s != RunState::kRunning && s != RunState::kUnhealthy) {
    inner_->Stop(grace);
    return;
  }
  pending_ = true;
  grace_ = grace;
  stop_at_ms_ = -1;
}

void DrainingWorkload::Poll(int64_t now_ms) {
  inner_->Poll(now_ms);
  if (!pending_) return;
  if (stop_at_ms_ < 0) stop_at_ms_ = now_ms + drain_ms_;
  // Dead meanwhile, or drained: stop it now.
  RunState s = inner_->state();
  if (now_ms >= stop_at_ms_ || (s != RunState::kRunning && s != RunState::kUnhealthy)) {
    pending_ = false;
    inner_->Stop(grace_);
  }
}

}  // namespace rv::strider
