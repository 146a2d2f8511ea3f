// ViewCommand: what a customer may look at of their app through the git
// server's ssh (docs/GITRECV.md "Looking at an app"), as Dokku's `ssh
// dokku@HOST logs APP`, with the key they push with:
//
//   ssh -p PORT rvgit@HOST logs TENANT/ENV/APP [-f|--tail] [--router]
//   ssh -p PORT rvgit@HOST ps TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST releases TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST builds TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST builds:output TENANT/ENV/APP N
//
// Each is one fixed `rv` command (RvArgs) that the deploy runner runs as root
// after gitrecv's on_view prefix (`rv --pod POD`): the customer chooses the
// verb, the app and the flags listed here, nothing else reaches rv's argv.
//
// Contract:
//  * IsView: the first word is one of the verbs above. ParseViewCommand: the
//    verb, a valid TENANT/ENV/APP, then only that verb's words, each at most
//    once; anything else is refused (Invalid, one printable line).
//  * Words(): the verb and its words without the app, in a canonical order
//    ("logs -f --router"): what the deploy request carries beside the app;
//    the runner parses them again (ParseViewRequest: it trusts nothing that
//    comes over the socket).
//  * Pure, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/names.h"
#include "common/status.h"

namespace rv::gitrecv {

struct ViewCommand {
  std::string verb;  // logs | ps | releases | builds | builds:output
  names::AppRef app;
  bool follow = false;  // logs -f
  bool router = false;  // logs --router
  int64_t build = 0;    // builds:output N

  std::string Words() const;
  // The argv after on_view's prefix, e.g. {"logs", "acme/prod/web", "--safe",
  // "-f"}: logs are made safe for the customer's terminal.
  std::vector<std::string> RvArgs() const;
};

bool IsView(const std::string& ssh_original_command);
Result<ViewCommand> ParseViewCommand(const std::string& ssh_original_command);
// The runner's side: a request's app and Words() as one command again.
Result<ViewCommand> ParseViewRequest(const std::string& app, const std::string& words);

}  // namespace rv::gitrecv
