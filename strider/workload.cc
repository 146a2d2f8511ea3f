#include "strider/workload.h"

namespace rv::strider {

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

}  // namespace rv::strider
