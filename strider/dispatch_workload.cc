#include "strider/dispatch_workload.h"

#include "strider/failed_workload.h"

namespace rv::strider {

std::unique_ptr<Workload> DispatchWorkloadFactory::Create(const msg::JobSpec& spec, StateCallback on_state) {
  if (spec.kind == "build") {
    if (builds_) return builds_->Create(spec, std::move(on_state));
    return FailedWorkload(Status::Unavailable("this host runs no builds"), std::move(on_state));
  }
  if (spec.kind == "proxy") {
    if (proxies_) return proxies_->Create(spec, std::move(on_state));
    return FailedWorkload(
        Status::Unavailable("this host runs no environment proxies (it needs a container runtime and the overlay)"),
        std::move(on_state));
  }
  if (spec.image.empty()) return processes_->Create(spec, std::move(on_state));
  if (containers_) return containers_->Create(spec, std::move(on_state));
  std::string why = "no container runtime on this host";
  if (!why_.empty()) why += ": " + why_;
  return FailedWorkload(Status::Unavailable(why), std::move(on_state));
}

}  // namespace rv::strider
