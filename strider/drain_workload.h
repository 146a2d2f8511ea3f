// DrainingWorkload: a web replica is taken out of its environment's proxies
// before its container is asked to stop (docs/PROXY.md "Environment proxy",
// "Drain").
//
// When sauron stops a job (a rollout's cut-over, a scale down, rv stop) the
// job leaves host.proxy_routes at once, and each proxy of the env reloads
// without it within refresh_ms (250 ms) plus a reload: new requests go to
// the other replicas, and HAProxy's old worker finishes the ones in flight.
// The replica's host waits drain_ms after the stop before it forwards Stop
// to the container (SIGTERM, then the grace), so those requests finish.
//
// Contract: wraps any Workload; only jobs Drains() picks are delayed, and
// only while they run (a starting or exited one stops at once). Release
// (the agent exits for an upgrade) is never delayed. Poll drives the delay,
// on the agent's thread like every workload call.
#pragma once

#include <memory>

#include "strider/workload.h"

namespace rv::strider {

// Whether a job is a web replica a proxy may be sending requests to (kind
// deploy, an environment, an image and a port).
bool Drains(const msg::JobSpec& spec);

class DrainingWorkload : public Workload {
 public:
  DrainingWorkload(std::unique_ptr<Workload> inner, int drain_ms) : inner_(std::move(inner)), drain_ms_(drain_ms) {}
  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override {
    return inner_->Start(spec, secrets);
  }
  void Stop(std::chrono::milliseconds grace) override;
  void Poll(int64_t now_ms) override;
  Status Adopt(const msg::JobSpec& spec) override { return inner_->Adopt(spec); }
  void Release() override { inner_->Release(); }
  std::string image_digest() const override { return inner_->image_digest(); }
  bool NeedsPoll() const override { return pending_ || inner_->NeedsPoll(); }
  RunState state() const override { return inner_->state(); }
  bool done() const override { return !pending_ && inner_->done(); }
  bool draining() const { return pending_; }

 private:
  std::unique_ptr<Workload> inner_;
  int drain_ms_;
  bool pending_ = false;
  std::chrono::milliseconds grace_{0};
  int64_t stop_at_ms_ = -1;  // set at the first Poll after Stop
};

class DrainingWorkloadFactory : public WorkloadFactory {
 public:
  DrainingWorkloadFactory(std::shared_ptr<WorkloadFactory> inner, int drain_ms)
      : inner_(std::move(inner)), drain_ms_(drain_ms) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec& spec, StateCallback on_state) override {
    auto w = inner_->Create(spec, std::move(on_state));
    if (drain_ms_ <= 0 || !Drains(spec)) return w;
    return std::make_unique<DrainingWorkload>(std::move(w), drain_ms_);
  }

 private:
  std::shared_ptr<WorkloadFactory> inner_;
  int drain_ms_;
};

}  // namespace rv::strider
