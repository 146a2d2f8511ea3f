// DeployRunner: runs the on-push command as root for the pre-receive hook,
// which runs as the git user (and the console's one-off commands for
// `gitrecv shell`, kind "run", and the app commands, kind "app"). rv-deploy needs root (runc, the pod's keys); the
// git user must not have it. `gitrecv run` serves a unix socket
// (runner_socket, 0660 root:<git user's group>); the hook sends one request
// and its stdin/stdout/stderr (SCM_RIGHTS), so the command's output still
// reaches the pusher as `remote:` lines (and a console's command reads the
// customer's input; every other command gets /dev/null); the reply is the
// exit code.
//
// Contract:
//  * Only the git user (SO_PEERCRED) may ask; the request is checked before
//    anything runs: app a valid TENANT/ENV/APP, commit 40 hex, user a valid
//    name, source a directory named /tmp/gitrecv-push.XXXXXX/src owned by
//    the git user. The argv is cfg.on_push + --app --commit --source --user
//    (OnPushArgv), never a shell.
//  * Per app, one on-push runs at a time (a lock file next to the repo,
//    APP.deploy.lock): a deploy whose pusher went away still finishes before
//    the next one starts; the waiting one says so.
//  * The runner removes the exported source when the command ends, bounds
//    it with hook_timeout_s (the whole process group is killed), and serves
//    each request in a child process, so one deploy never blocks another app's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gitrecv/config.h"

namespace rv::gitrecv {

// kind "deploy": a push's on-push (app, commit, source, user). kind "run":
// a console command (docs/GITRECV.md "Console"; app, user, command), run as
// cfg.on_run + --for USER --max-run-s N APP -- COMMAND (`rv run`), without the
// app's deploy lock (one-offs may run beside a deploy and each other). kind
// "app": a customer's logs/ps/releases/builds/config/rollback
// (gitrecv/app_command.h; app, user, command = AppCommand::Words()), run as
// cfg.on_app + RvArgs(), also without this lock (rv rollback takes its own).
struct DeployRequest {
  std::string app, commit, source, user;
  std::string kind = "deploy";
  std::string command;
};

// Pure checks and the command line.
Status ValidateDeployRequest(const DeployRequest& r);
std::vector<std::string> OnPushArgv(const GitrecvConfig& cfg, const DeployRequest& r);
std::vector<std::string> OnRunArgv(const GitrecvConfig& cfg, const DeployRequest& r);
// Empty if r is not a valid app command (ValidateDeployRequest says why).
std::vector<std::string> OnAppArgv(const GitrecvConfig& cfg, const DeployRequest& r);
std::string EncodeDeployRequest(const DeployRequest& r);
Result<DeployRequest> DecodeDeployRequest(const std::string& text);

// The hook's side: sends the request with fds 0, 1 and 2, waits for the exit code.
Result<int> RequestDeploy(const std::string& socket_path, const DeployRequest& r);

// `gitrecv run`'s side: serves until stop() is true (checked every 200 ms).
Status ServeDeploys(const GitrecvConfig& cfg, const std::function<bool()>& stop,
                    const std::function<void()>& tick);

}  // namespace rv::gitrecv
