// DispatchWorkloadFactory: picks the workload kind per job. Build jobs (kind
// "build") go to the build factory (strider/build_workload.h), jobs with an
// image to the container factory, others to the process factory. A host
// without a build factory fails a build job at once ("this host runs no builds").
//
// A host whose container runtime could not open (not root, no runc, no tmpfs)
// has no container factory: image jobs then get a workload that fails at once
// with "no container runtime on this host: <why>", so sauron shows the reason
// instead of the job silently running as something else. Normally such a host
// never wins one: its bidder declines jobs announced with needs_container
// (AgentOptions.containers), so this is the backstop for an award made anyway.
#pragma once

#include <memory>
#include <string>

#include "strider/workload.h"

namespace rv::strider {

class DispatchWorkloadFactory : public WorkloadFactory {
 public:
  // `containers` may be null; `why_no_containers` is then the reason shown.
  DispatchWorkloadFactory(std::shared_ptr<WorkloadFactory> processes, std::shared_ptr<WorkloadFactory> containers,
                          std::string why_no_containers = "")
      : processes_(std::move(processes)), containers_(std::move(containers)), why_(std::move(why_no_containers)) {}

  std::unique_ptr<Workload> Create(const msg::JobSpec& spec, StateCallback on_state) override;

  bool has_containers() const { return containers_ != nullptr; }
  void SetBuilds(std::shared_ptr<WorkloadFactory> builds) { builds_ = std::move(builds); }
  // Jobs of kind "proxy" (an environment's proxy, strider/proxy_workload.h).
  void SetProxies(std::shared_ptr<WorkloadFactory> proxies) { proxies_ = std::move(proxies); }

 private:
  std::shared_ptr<WorkloadFactory> processes_;
  std::shared_ptr<WorkloadFactory> containers_;
  std::shared_ptr<WorkloadFactory> builds_;
  std::shared_ptr<WorkloadFactory> proxies_;
  std::string why_;
};

}  // namespace rv::strider
