// rv run TENANT/ENV/APP [-n | --detach] [--start-timeout-s N] [--ram-mb N] [--raw] [--for USER] [--max-run-s N] -- COMMAND...
//
// The console for one-off commands (deploy/one_off.h): COMMAND (its words
// joined by spaces into one command line, as `heroku run` does) runs once
// in a new container of the app's current release, with the app's config,
// secrets and overlay; its output is printed as it is written (read through
// sauron from its host, cli/remote_log.h; on a terminal made safe like `rv
// logs`), progress goes to stderr, and rv exits with the command's exit code.
// Ctrl-C, or output that can no longer be written, stops the command's
// container. rv's stdin is the command's (cli/console_input.h): typed lines
// or a pipe reach it as they come, and their end (Ctrl-D) closes it; -n
// closes it at once. There is no TTY: the command sees a pipe, not a
// terminal. --detach (Heroku's run:detached) returns once the command runs,
// printing its job id; its output is in the app's logs and sauron stops its
// job when it ends. Customers reach the console through the git server:
// `ssh rvgit@HOST run APP -- COMMAND` (docs/GITRECV.md "Console").
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/client.h"

namespace rv::cli {

struct RunCommand {
  CLI::App* run = nullptr;
  std::string app;
  std::vector<std::string> command;
  int start_timeout_s = 120;
  int64_t ram_mb = 256;
  bool raw = false;
  std::string for_user;  // --for: who asked (gitrecv's console)
  int max_run_s = 0;     // --max-run-s: stop the command after this long (0: never)
  bool no_stdin = false; // -n: the command's input ends at once
  bool detach = false;   // --detach: start it and return
};

// One command line of `words` (pure, for tests): joined by single spaces.
std::string CommandLine(const std::vector<std::string>& words);

void AddRunCommand(CLI::App& app, RunCommand* cmd);
// Runs it if given: the command's exit code, 1 when it could not run; -1 if not given.
int RunRunCommand(Client& c, const RunCommand& cmd);

}  // namespace rv::cli
