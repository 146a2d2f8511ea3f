// The overlay's operator commands, kept out of rv.cc:
//   rv env:rotate-key ENV [--aead aes256gcm|chacha20poly1305]
//                           every host of ENV moves to a new key epoch; the old
//                           key stays accepted for sauron's grace period, so
//                           established connections survive. The new epoch's
//                           AEAD is chosen again from the hosts up, or forced.
//   rv env:addrs [ENV]      each environment's subnet, AEAD per epoch, epochs
//                           and the overlay address of every container (job,
//                           host); an unknown ENV is an error
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/client.h"
#include "common/msg/overlay.h"

namespace rv::cli {

struct EnvCommands {
  CLI::App* rotate = nullptr;
  CLI::App* addrs = nullptr;
  std::string env;
  std::string aead;
};

// The env:addrs table (pure, for tests).
std::string FormatAddrs(const msg::OverlayListing& l);

// Registered as "env-rotate-key" / "env-addrs": CLI11 refuses ':' in names,
// and rv.cc rewrites the "env:..." spelling of the subcommand before parsing.
void AddEnvCommands(CLI::App& app, EnvCommands* cmds);
// Runs the parsed env command; -1 if none of them was given.
int RunEnvCommands(Client& c, const EnvCommands& cmds);

}  // namespace rv::cli
