#include "strider/container/container_workload.h"

namespace rv::container {

ContainerWorkload::~ContainerWorkload() { c_.reset(); }

Status ContainerWorkload::Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) {
  if (c_) return Status::Conflict("already started");
  c_ = std::make_unique<Container>(rt_, spec, secrets, [this](CState s, const std::string& d) {
    std::lock_guard<std::mutex> l(mu_);
    queue_.emplace_back(s, d);
  });
  c_->PassFd(pass_fd_);
  Status s = c_->Start();
  if (!s.ok()) {
    state_ = strider::RunState::kFailed;
    if (cb_) cb_(state_, s.message());
    drained_done_ = true;
  }
  return s;
}

Status ContainerWorkload::Adopt(const msg::JobSpec& spec) {
  if (c_) return Status::Conflict("already started");
  auto c = std::make_unique<Container>(rt_, spec, std::map<std::string, std::string>{}, [this](CState s, const std::string& d) {
    std::lock_guard<std::mutex> l(mu_);
    queue_.emplace_back(s, d);
  });
  c->PassFd(pass_fd_);
  Status s = c->Adopt();
  if (!s.ok()) return s;
  c_ = std::move(c);
  state_ = strider::RunState::kRunning;
  return Status::Ok();
}

void ContainerWorkload::Release() {
  if (c_) c_->Release();
}

void ContainerWorkload::Stop(std::chrono::milliseconds grace) {
  if (c_) c_->Stop(grace);
}

void ContainerWorkload::Poll(int64_t) {
  std::deque<std::pair<CState, std::string>> q;
  {
    std::lock_guard<std::mutex> l(mu_);
    q.swap(queue_);
  }
  for (auto& [s, d] : q) {
    strider::RunState rs = strider::RunState::kNone;
    std::string detail = d;
    switch (s) {
      case CState::kStarting: rs = strider::RunState::kStarting; break;
      case CState::kRunning: rs = strider::RunState::kRunning; break;
      case CState::kUnhealthy: rs = strider::RunState::kUnhealthy; break;
      case CState::kExited: rs = strider::RunState::kExited; break;
      case CState::kFailed: rs = strider::RunState::kFailed; break;
      case CState::kStopped: rs = strider::RunState::kStopped; break;
      case CState::kNone: continue;
    }
    state_ = rs;
    if (cb_) cb_(rs, detail);
  }
  if (c_ && c_->done()) {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.empty()) drained_done_ = true;
  }
}

bool ContainerWorkload::done() const { return drained_done_; }

}  // namespace rv::container
