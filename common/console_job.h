// What marks a console job (a one-off command, `rv run` and gitrecv's
// console): its kind, and the environment variable that names the user it
// runs for. deploy makes such jobs, sauron names the user and the command in
// the job's job.submitted event, so `rv events` is the console's audit trail.
//
// Contract: constants only; every component writes and matches these through
// here. Thread-safe.
#pragma once

namespace rv {

inline constexpr char kConsoleJobKind[] = "console";
inline constexpr char kRunUserVar[] = "RV_RUN_USER";

}  // namespace rv
