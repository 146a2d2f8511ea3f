// What marks a console job (a one-off command, `rv run` and gitrecv's
// console): its kind, the environment variable that names the user it runs
// for, and the one that says nobody waits for it. deploy makes such jobs, sauron names the user and the command in
// the job's job.submitted event, so `rv events` is the console's audit trail.
//
// Contract: constants only; every component writes and matches these through
// here. Thread-safe.
#pragma once

namespace rv {

inline constexpr char kConsoleJobKind[] = "console";
inline constexpr char kRunUserVar[] = "RV_RUN_USER";
// "1" in a detached one-off (`rv run --detach`): nobody waits for it, so
// sauron stops its job when it has ended (exited or failed to start).
inline constexpr char kRunDetachedVar[] = "RV_RUN_DETACHED";

}  // namespace rv
