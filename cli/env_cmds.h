// The overlay's operator commands (issue 4), kept out of rv.cc:
//   rv env:rotate-key ENV   every host of ENV moves to a new key epoch; the old
//                           key stays accepted for sauron's grace period, so
//                           established connections survive
//   rv env:addrs [ENV]      each environment's subnet, AEAD, epochs and the
//                           overlay address of every container (job, host)
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/client.h"

namespace rv::cli {

struct EnvCommands {
  CLI::App* rotate = nullptr;
  CLI::App* addrs = nullptr;
  std::string env;
};

// Registered as "env-rotate-key" / "env-addrs": CLI11 refuses ':' in names,
// and rv.cc rewrites the "env:..." spelling of the subcommand before parsing.
void AddEnvCommands(CLI::App& app, EnvCommands* cmds);
// Runs the parsed env command; -1 if none of them was given.
int RunEnvCommands(Client& c, const EnvCommands& cmds);

}  // namespace rv::cli
