// Heroku-style environment config, kept out of rv.cc. Values travel over the
// CURVE connection and are stored encrypted; `config` shows secrets masked.
//   rv config ENV                              names; plain values, secrets masked
//   rv config:set ENV KEY=VALUE... [--secret]  then rolls out the apps' new releases
//   rv config:unset ENV KEY...
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/client.h"

namespace rv::cli {

struct ConfigCommands {
  CLI::App* list = nullptr;
  CLI::App* set = nullptr;
  CLI::App* unset = nullptr;
  std::string env;
  std::vector<std::string> pairs;  // set: KEY=VALUE
  std::vector<std::string> names;  // unset: KEY
  bool secret = false;
};

// Registered as "config-set" / "config-unset" (rv.cc rewrites "config:set").
void AddConfigCommands(CLI::App& app, ConfigCommands* cmds);
// Runs the parsed config command; -1 if none of them was given.
int RunConfigCommands(Client& c, ConfigCommands& cmds);

}  // namespace rv::cli
