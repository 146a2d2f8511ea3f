// The pod's event log and counters, kept out of rv.cc:
//   rv events [--limit N] [-f [--count N] [--wait-ms MS]]
//                        the last N events, then (with -f) new ones as they
//                        happen; subscribed before listing, so nothing falls
//                        between the two; a gap in sequence numbers is reported
//   rv counters          sauron's counters (rejected messages, refusals, ...)
#pragma once

#include <CLI/CLI.hpp>

#include "cli/client.h"

namespace rv::cli {

struct EventCommands {
  CLI::App* events = nullptr;
  CLI::App* counters = nullptr;
  bool follow = false;
  int limit = 50, count = 0, wait_ms = 0;
};

void AddEventCommands(CLI::App& app, EventCommands* cmds);
// Runs the parsed command; -1 if none of them was given.
int RunEventCommands(Client& c, const EventCommands& cmds);

}  // namespace rv::cli
