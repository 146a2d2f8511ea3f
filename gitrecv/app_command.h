// AppCommand: what a customer may do with their app through the git server's
// ssh besides git and the console (docs/GITRECV.md "Looking after an app"), as
// Dokku's `ssh dokku@HOST logs APP`, with the key they push with:
//
//   ssh -p PORT rvgit@HOST logs TENANT/ENV/APP [-f|--tail] [--router]
//   ssh -p PORT rvgit@HOST ps TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST releases TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST builds TENANT/ENV/APP
//   ssh -p PORT rvgit@HOST builds:output TENANT/ENV/APP N
//   ssh -p PORT rvgit@HOST config TENANT/ENV/APP      (its environment's vars, secrets masked)
//   ssh -p PORT rvgit@HOST config:set TENANT/ENV/APP [--secret] KEY=VALUE...
//   ssh -p PORT rvgit@HOST config:unset TENANT/ENV/APP KEY...
//   ssh -p PORT rvgit@HOST rollback TENANT/ENV/APP [vN]
//   ssh -p PORT rvgit@HOST restart TENANT/ENV/APP    (every replica replaced, one by one)
//   ssh -p PORT rvgit@HOST domains TENANT/ENV/APP    (its names and their certificates)
//   ssh -p PORT rvgit@HOST domains:add|domains:remove TENANT/ENV/APP NAME
//
// Each is one fixed `rv` command (RvArgs) that the deploy runner runs as root
// after gitrecv's on_app prefix (`rv --pod POD`): the customer chooses the
// verb, the app and the words listed here, nothing else reaches rv's argv.
//
// Contract:
//  * IsAppCommand: the first word is one of the verbs above.
//    ParseAppCommand: the verb, a valid TENANT/ENV/APP, then only that verb's
//    words, each at most once; anything else is refused (Invalid, one
//    printable line).
//  * Writes(): rollback, restart, config:set/unset and domains:add/remove
//    change what runs or where it answers (a write grant, as for a push);
//    the others only show (any grant, read-only too, as for a clone).
//    config:set/unset change the app's environment's vars (rv's scope),
//    which rolls every app of it out, as `rv config:set` does.
//  * A var is KEY=VALUE (config:set) or KEY (config:unset), KEY of letters,
//    digits and _, each KEY once; a value is one word of printable bytes
//    (ssh joins the client's words with spaces). A NAME is one word of
//    letters, digits, '.' and '-', starting with a letter or digit. sauron
//    checks the rest (a name under the pod's domain, or another app's, is
//    refused there).
//  * Words(): the verb and its words without the app, in a canonical order
//    ("logs -f --router"): what the deploy request carries beside the app;
//    the runner parses them again (ParseAppRequest: it trusts nothing that
//    comes over the socket).
//  * Pure, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/names.h"
#include "common/status.h"

namespace rv::gitrecv {

struct AppCommand {
  std::string verb;  // one of the verbs above
  names::AppRef app;
  bool follow = false;  // logs -f
  bool router = false;  // logs --router
  int64_t number = 0;   // builds:output N, rollback vN (0: the release before the current one)
  bool secret = false;  // config:set --secret
  std::vector<std::string> vars;  // config:set KEY=VALUE..., config:unset KEY... (as given)
  std::string name;               // domains:add/remove: a DNS name

  bool Writes() const {
    return verb == "rollback" || verb == "restart" || verb == "config:set" || verb == "config:unset" ||
           verb == "domains:add" || verb == "domains:remove";
  }
  std::string Words() const;
  // The argv after on_app's prefix, e.g. {"logs", "acme/prod/web", "--safe",
  // "-f"}: logs are made safe for the customer's terminal.
  std::vector<std::string> RvArgs() const;
};

bool IsAppCommand(const std::string& ssh_original_command);
Result<AppCommand> ParseAppCommand(const std::string& ssh_original_command);
// The runner's side: a request's app and Words() as one command again.
Result<AppCommand> ParseAppRequest(const std::string& app, const std::string& words);

}  // namespace rv::gitrecv
