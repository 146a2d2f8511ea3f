// Operator commands for users, SSH keys, apps and access (issue 17), kept out
// of rv.cc:
//   rv users:add USER            rv users
//   rv keys:add USER FILE.pub    rv keys:remove USER FINGERPRINT    rv keys USER
//   rv apps:create TENANT/ENV APP [--branch main|master]   prints the git remote line
//   rv apps:destroy TENANT/ENV/APP                         rv apps [TENANT/ENV]
//   rv access:grant USER TENANT/ENV [--read-only]          rv access:revoke USER TENANT/ENV
// Names are checked here (common/names.h) before anything is sent, and again
// by sauron. Registered with '-' for ':' (CLI11 names cannot hold ':'; rv.cc
// rewrites the subcommand before parsing).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/client.h"
#include "common/msg/accounts.h"

namespace rv::cli {

struct AccountCommands {
  CLI::App *users_add = nullptr, *users = nullptr, *keys_add = nullptr, *keys_remove = nullptr, *keys = nullptr,
           *apps_create = nullptr, *apps_destroy = nullptr, *apps = nullptr, *grant = nullptr, *revoke = nullptr;
  std::string user, file, fingerprint, env, app, branch = "main", git_url;
  bool read_only = false;
};

// The git remote URL of an app: BASE/TENANT/ENV/APP.git, where BASE is
// `ssh://rvgit@HOST:PORT` (the git server's; see GitBaseUrl).
std::string GitRemoteUrl(const std::string& base, const msg::AppInfo& app);
// The git server's base URL: --git-url, else $RV_GIT_URL, else the first line
// of <pod_dir>/gitrecv/url (written by `gitrecv setup`), else "".
std::string GitBaseUrl(const std::string& flag, const std::string& pod_dir);

void AddAccountCommands(CLI::App& app, AccountCommands* cmds);
// Runs the parsed command; -1 if none of them was given.
int RunAccountCommands(Client& c, const AccountCommands& cmds);

}  // namespace rv::cli
