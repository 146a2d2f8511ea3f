// RunUnprivileged: runs one short helper command on the host as an
// unprivileged uid/gid (no supplementary groups, no new privileges, its own
// process group), with a fixed environment, a wall-clock limit and a cap on
// the output it keeps. The builder uses it for `buildpacks/bin/build
// --choose` over the app's source, which is the pusher's and so hostile
// (a `.buildpacks` symlink to /etc/shadow must not be read as root).
//
// stdout and stderr are one stream; stdin is /dev/null. At the limit the
// whole process group is SIGKILLed and `timed_out` is set; output beyond
// `max_output_bytes` is read and dropped (the command never blocks on a full
// pipe). Needs root to switch ids. Thread-safe (no shared state), but forks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace rv::builder {

struct UnprivilegedCommand {
  std::vector<std::string> argv;  // argv[0] is a path (no PATH search)
  std::vector<std::string> env;   // the whole environment, K=V
  std::string cwd = "/";
  uid_t uid = 65534;
  gid_t gid = 65534;
  int64_t timeout_ms = 30000;
  size_t max_output_bytes = 64 << 10;
};

struct UnprivilegedOutcome {
  int exit_code = -1;     // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  bool truncated = false;
  std::string output;
};

Result<UnprivilegedOutcome> RunUnprivileged(const UnprivilegedCommand& c);

}  // namespace rv::builder
