// The lifecycle vocabulary shared across the wire: the names of job states
// (sauron's JobRecord.state), host states (HostRecord.state) and run states
// (a strider's report of its workload, JobRecord.run_state).
//
// Contract: the wire carries these strings; every component compares and sets
// them through these definitions only, so a rename is one edit here and a
// compile error wherever it matters. Parse/IsValid accept exactly the names
// defined here. Constants only: thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace rv {

// Job lifecycle (sauron is the only writer; see docs/ARCHITECTURE.md):
//   pending --award--> awarded --claim--> placed --stop--> stopped
namespace job_state {
inline constexpr char kPending[] = "pending";
inline constexpr char kAwarded[] = "awarded";
inline constexpr char kPlaced[] = "placed";
inline constexpr char kStopped[] = "stopped";
inline constexpr std::string_view kAll[] = {kPending, kAwarded, kPlaced, kStopped};
bool IsValid(std::string_view s);
}  // namespace job_state

// Host lifecycle in sauron: enrolled (never seen), up, lost.
namespace host_state {
inline constexpr char kEnrolled[] = "enrolled";
inline constexpr char kUp[] = "up";
inline constexpr char kLost[] = "lost";
inline constexpr std::string_view kAll[] = {kEnrolled, kUp, kLost};
bool IsValid(std::string_view s);
}  // namespace host_state

// A workload's own state, as its strider reports it.
enum class RunState { kNone, kStarting, kRunning, kExited, kFailed, kStopped, kUnhealthy };
// "" for kNone, else "starting", "running", ...
const char* RunStateName(RunState s);
// Any name but "" (kNone is never reported).
std::optional<RunState> ParseRunState(std::string_view name);

}  // namespace rv
