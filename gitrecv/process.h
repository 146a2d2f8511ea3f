// Child processes for gitrecv: git, ssh-keygen, useradd and the on-push
// command, always by argv (never a shell), waited for, bounded.
//
// Contract: Run and Capture inherit stderr; RunBounded puts the child in its
// own process group, gives it /dev/null as stdin (or `stdin_fd`) and this process's
// stdout/stderr (so git relays its output as "remote:" lines), drops GIT_*
// variables from its environment, and kills the whole group at the deadline.
// Exit codes: the child's; 127 when it could not be started; 128+N when
// killed by signal N. One owner thread.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace rv::gitrecv {

int Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
// Stdout of a command that must succeed, at most `max_bytes`.
Result<std::string> Capture(const std::vector<std::string>& argv, size_t max_bytes = 1 << 20);
struct BoundedResult {
  int exit_code = 0;
  bool timed_out = false;
};
BoundedResult RunBounded(const std::vector<std::string>& argv, int timeout_s, int stdin_fd = -1);

}  // namespace rv::gitrecv
