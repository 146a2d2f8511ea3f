// ConsoleCommand: a customer's one-off command through the git server's ssh
// (the pod's console, docs/GITRECV.md "Console"):
//
//   ssh -p PORT rvgit@HOST run TENANT/ENV/APP [--] COMMAND...
//
// ssh joins its arguments with spaces into SSH_ORIGINAL_COMMAND, so COMMAND
// reaches us as one line: it is kept as written and run in the app's own
// container like a Procfile line (`rv run`, deploy/one_off.h), never on a
// host and never through a shell here.
//
// Contract:
//  * "run", one space, a valid TENANT/ENV/APP, then the command line after
//    an optional "--"; anything else is not a console command (IsConsole) or
//    refused (Invalid, with a message for the customer's terminal).
//  * The command line (ValidateCommandLine): not empty, at most
//    kMaxCommandLine bytes, UTF-8 (it travels in JSON), no control byte: what
//    reaches the runner's argv and the job is one printable line.
//  * Pure, thread-safe.
#pragma once

#include <string>

#include "common/names.h"
#include "common/status.h"

namespace rv::gitrecv {

inline constexpr size_t kMaxCommandLine = 4096;

struct ConsoleCommand {
  names::AppRef app;
  std::string line;
};

bool IsConsole(const std::string& ssh_original_command);
Result<ConsoleCommand> ParseConsoleCommand(const std::string& ssh_original_command);
Status ValidateCommandLine(const std::string& line);

}  // namespace rv::gitrecv
