// FailedWorkload: a workload that cannot run, for a job this host must not or
// cannot start (a hostile build job, a kind this host has no factory for). Its
// Start reports `failed` with the reason and returns `why` (code kept, so the
// caller tells a refusal from an unavailability); it never restarts, and Stop
// reports `stopped`. Owned by the agent like every workload; not thread-safe.
#pragma once

#include <memory>

#include "common/status.h"
#include "strider/workload.h"

namespace rv::strider {

std::unique_ptr<Workload> FailedWorkload(Status why, StateCallback on_state);

}  // namespace rv::strider
