// GitCommand: what an SSH client asked gitrecv to run (SSH_ORIGINAL_COMMAND),
// parsed and checked before anything touches the disk.
//
// Contract:
//  * Only "git-receive-pack PATH" (push) and "git-upload-pack PATH" (clone,
//    fetch) pass, also spelled "git receive-pack"/"git upload-pack"; PATH is
//    one argument, bare or single-quoted as git quotes it.
//  * PATH must name TENANT/ENV/APP[.git] (an optional leading '/' and
//    trailing '/'), each part a valid name (common/names.h): no "..", no
//    "~", no absolute path elsewhere, no extra component, no shell
//    metacharacters, so RepoPath() is always inside the repo root.
//  * Refusals are Status::Invalid with a message for the pusher's terminal.
//  * Pure, thread-safe.
#pragma once

#include <string>

#include "common/names.h"
#include "common/status.h"

namespace rv::gitrecv {

struct GitCommand {
  enum class Verb { kReceivePack, kUploadPack };
  Verb verb = Verb::kUploadPack;
  names::AppRef app;
  bool push() const { return verb == Verb::kReceivePack; }
  const char* program() const { return push() ? "git-receive-pack" : "git-upload-pack"; }
};

Result<GitCommand> ParseGitCommand(const std::string& ssh_original_command);

// <root>/TENANT/ENV/APP.git
std::string RepoPath(const std::string& root, const names::AppRef& app);
// <root>/TENANT/ENV/APP.lock: held while a push to the app runs.
std::string LockPath(const std::string& root, const names::AppRef& app);

}  // namespace rv::gitrecv
