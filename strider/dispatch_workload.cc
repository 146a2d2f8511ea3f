#include "strider/dispatch_workload.h"

namespace rv::strider {
namespace {

// Fails on Start with a fixed reason; never restarts.
class UnavailableWorkload : public Workload {
 public:
  UnavailableWorkload(std::string why, StateCallback cb) : why_(std::move(why)), cb_(std::move(cb)) {}
  Status Start(const msg::JobSpec&, const std::map<std::string, std::string>&) override {
    state_ = RunState::kFailed;
    if (cb_) cb_(state_, why_);
    return Status::Unavailable(why_);
  }
  void Stop(std::chrono::milliseconds) override {
    state_ = RunState::kStopped;
    if (cb_) cb_(state_, "");
  }
  void Poll(int64_t) override {}
  RunState state() const override { return state_; }
  bool done() const override { return state_ == RunState::kFailed || state_ == RunState::kStopped; }

 private:
  std::string why_;
  StateCallback cb_;
  RunState state_ = RunState::kNone;
};

}  // namespace

std::unique_ptr<Workload> DispatchWorkloadFactory::Create(const msg::JobSpec& spec, StateCallback on_state) {
  if (spec.kind == "build") {
    if (builds_) return builds_->Create(spec, std::move(on_state));
    return std::make_unique<UnavailableWorkload>("this host runs no builds", std::move(on_state));
  }
  if (spec.kind == "proxy") {
    if (proxies_) return proxies_->Create(spec, std::move(on_state));
    return std::make_unique<UnavailableWorkload>(
        "this host runs no environment proxies (it needs a container runtime and the overlay)", std::move(on_state));
  }
  if (spec.image.empty()) return processes_->Create(spec, std::move(on_state));
  if (containers_) return containers_->Create(spec, std::move(on_state));
  std::string why = "no container runtime on this host";
  if (!why_.empty()) why += ": " + why_;
  return std::make_unique<UnavailableWorkload>(why, std::move(on_state));
}

}  // namespace rv::strider
