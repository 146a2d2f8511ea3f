// The hosts' operator commands, kept out of rv.cc:
//   rv hosts                                  hosts, labels, capacity, free, state
//   rv hosts enroll ID --key FILE [--label k=v]... [--max-ram-mb N]
//   rv hosts drain ID [--undo]                give a host nothing new (or again)
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/client.h"

namespace rv::cli {

struct HostCommands {
  CLI::App* hosts = nullptr;
  CLI::App* enroll = nullptr;
  CLI::App* drain = nullptr;
  std::string id, key;
  std::vector<std::string> labels;
  int64_t max_ram_mb = 0;
  bool undo = false;
};

void AddHostCommands(CLI::App& app, HostCommands* cmds);
// Runs the parsed host command; -1 if none of them was given.
int RunHostCommands(Client& c, const HostCommands& cmds);

}  // namespace rv::cli
