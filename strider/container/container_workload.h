// ContainerWorkload: the strider agent's Workload (strider/workload.h) for jobs
// with an image, backed by a Container.
//
// The Container's supervisor thread does the slow work (pull, runc) and queues
// its state changes; Poll() delivers them to the agent's callback on the
// agent's thread, as the Workload contract requires. `unhealthy` has no
// RunState of its own yet: it is reported as running with detail
// "unhealthy: <why>" (and back to running "healthy ..." when it recovers).
//
// Wiring in the agent: build one ContainerRuntime per host
// (ContainerRuntime::Open) and use ContainerWorkloadFactory for jobs whose
// spec.image is set (ProcessWorkloadFactory otherwise).
#pragma once

#include <deque>
#include <memory>
#include <mutex>

#include "strider/container/container.h"
#include "strider/workload.h"

namespace rv::container {

class ContainerWorkload : public strider::Workload {
 public:
  ContainerWorkload(ContainerRuntime& rt, strider::StateCallback cb) : rt_(rt), cb_(std::move(cb)) {}
  ~ContainerWorkload() override;

  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override;
  void Stop(std::chrono::milliseconds grace) override;
  Status Adopt(const msg::JobSpec& spec) override;
  void Release() override;
  std::string image_digest() const override { return c_ ? c_->image_digest() : ""; }
  void Poll(int64_t now_ms) override;
  strider::RunState state() const override { return state_; }
  bool done() const override;

  Container* container() { return c_.get(); }
  // Container::PassFd for the container this workload makes; before Start/Adopt.
  void PassFd(int fd) { pass_fd_ = fd; }

 private:
  ContainerRuntime& rt_;
  strider::StateCallback cb_;
  std::unique_ptr<Container> c_;
  std::mutex mu_;
  std::deque<std::pair<CState, std::string>> queue_;
  strider::RunState state_ = strider::RunState::kNone;
  bool drained_done_ = false;
  int pass_fd_ = -1;
};

class ContainerWorkloadFactory : public strider::WorkloadFactory {
 public:
  explicit ContainerWorkloadFactory(ContainerRuntime& rt) : rt_(rt) {}
  std::unique_ptr<strider::Workload> Create(const msg::JobSpec&, strider::StateCallback cb) override {
    return std::make_unique<ContainerWorkload>(rt_, std::move(cb));
  }

 private:
  ContainerRuntime& rt_;
};

}  // namespace rv::container
