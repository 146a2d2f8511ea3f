#include "common/states.h"

#include <algorithm>

namespace rv {

bool job_state::IsValid(std::string_view s) { return std::find(std::begin(kAll), std::end(kAll), s) != std::end(kAll); }

bool host_state::IsValid(std::string_view s) {
  return std::find(std::begin(kAll), std::end(kAll), s) != std::end(kAll);
}

const char* RunStateName(RunState s) {
  switch (s) {
    case RunState::kNone: return "";
    case RunState::kStarting: return "starting";
    case RunState::kRunning: return "running";
    case RunState::kExited: return "exited";
    case RunState::kFailed: return "failed";
    case RunState::kStopped: return "stopped";
    case RunState::kUnhealthy: return "unhealthy";
  }
  return "";
}

std::optional<RunState> ParseRunState(std::string_view name) {
  for (RunState s : {RunState::kStarting, RunState::kRunning, RunState::kExited, RunState::kFailed, RunState::kStopped,
                     RunState::kUnhealthy}) {
    if (name == RunStateName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace rv
