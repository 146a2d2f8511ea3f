// gitrecv shell USER: the only thing an enrolled key may run. Checks the
// command and the user's access, takes the app's push lock, creates the bare
// repo on the first push, then execs git's own receive-pack/upload-pack; or,
// for `run APP -- COMMAND` (the console) and the app commands (`logs APP`,
// `rollback APP`, ...: app_command.h), has the deploy runner run it.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "gitrecv/commands.h"
#include "gitrecv/console_command.h"
#include "gitrecv/deploy_runner.h"
#include "gitrecv/app_command.h"
#include "gitrecv/git_command.h"
#include "gitrecv/process.h"
#include "gitrecv/sauron_link.h"

namespace rv::gitrecv {
namespace {

namespace fs = std::filesystem;

int Refuse(const std::string& why) {
  std::cerr << "gitrecv: " << why << "\n";
  return 1;
}

Status WriteHook(const GitrecvConfig& cfg, const std::string& repo) {
  std::string path = repo + "/hooks/pre-receive";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "#!/bin/sh\n# Installed by gitrecv: every push to this repo goes through it.\nexec '" << cfg.binary
        << "' --config '" << cfg.path << "' hook\n";
    if (!out) return Status::Io("cannot write " + tmp);
  }
  if (chmod(tmp.c_str(), 0755) != 0 || rename(tmp.c_str(), path.c_str()) != 0) return Status::Io("cannot install " + path);
  return Status::Ok();
}

Status CreateRepo(const std::string& repo, const std::string& branch) {
  std::string tmp = repo + ".new";
  std::error_code ec;
  fs::remove_all(tmp, ec);  // a leftover of an interrupted create; git init says if it is still in the way
  if (Run({"git", "init", "--bare", "--quiet", "--template=", "--initial-branch=" + branch, tmp}) != 0) {
    return Status::Io("git init failed");
  }
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"receive.denyDeletes", "true"},
      {"receive.denyNonFastForwards", "false"},
      {"receive.fsckObjects", "true"},
  };
  for (const auto& [k, v] : settings) {
    if (Run({"git", "--git-dir=" + tmp, "config", k, v}) != 0) return Status::Io("git config " + k + " failed");
  }
  fs::create_directories(tmp + "/hooks", ec);
  fs::rename(tmp, repo, ec);
  if (ec) return Status::Io("cannot create " + repo + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

// The console and the app commands: checks the user's access to `app` (a write
// grant when `write`, any grant otherwise), then has the root deploy runner
// run the request, its output straight to this session; its exit code is
// the session's.
int AskRunner(const GitrecvConfig& cfg, const std::string& user, DeployRequest r, bool write) {
  {
    auto link = SauronLink::Open(cfg);
    if (!link.ok()) return Refuse("cannot check access: " + link.status().message());
    auto access = (*link)->Authorize(user, r.app, write);
    if (!access.ok()) return Refuse("cannot check access: " + access.status().message());
    if (!access->allowed) return Refuse(access->reason);
  }
  r.user = user;
  auto code = RequestDeploy(cfg.runner_socket, r);
  if (!code.ok()) return Refuse(code.status().message());
  return *code;
}

// `run APP -- COMMAND`: the console. The user needs a write grant on the
// app's environment (as for a push); the command runs as root's `rv run`.
int RunConsole(const GitrecvConfig& cfg, const std::string& user, const std::string& original) {
  auto cmd = ParseConsoleCommand(original);
  if (!cmd.ok()) return Refuse(cmd.status().message());
  if (cfg.runner_socket.empty() || cfg.on_run.empty()) return Refuse("the console is off on this git server");
  DeployRequest r;
  r.kind = "run";
  r.app = cmd->app.ToString();
  r.command = cmd->line;
  return AskRunner(cfg, user, r, /*write=*/true);
}

// `logs APP [-f] [--router]`, `ps APP`, `releases APP`, `builds APP`,
// `builds:output APP N`, `config APP`, `rollback APP [vN]` (app_command.h):
// any grant on the app's environment to look, read-only too (as for a
// clone); a write grant to roll back (as for a push). The fixed rv command
// runs as root.
int RunAppCommand(const GitrecvConfig& cfg, const std::string& user, const std::string& original) {
  auto cmd = ParseAppCommand(original);
  if (!cmd.ok()) return Refuse(cmd.status().message());
  if (cfg.runner_socket.empty() || cfg.on_app.empty()) return Refuse("this git server runs no app commands");
  DeployRequest r;
  r.kind = "app";
  r.app = cmd->app.ToString();
  r.command = cmd->Words();
  return AskRunner(cfg, user, r, cmd->Writes());
}

int RunShell(const GitrecvConfig& cfg, const std::string& user) {
  if (Status s = names::ValidateName(user, "user"); !s.ok()) return Refuse(s.message());
  const char* original = getenv("SSH_ORIGINAL_COMMAND");
  if (original && IsConsole(original)) return RunConsole(cfg, user, original);
  if (original && IsAppCommand(original)) return RunAppCommand(cfg, user, original);
  auto cmd = ParseGitCommand(original ? original : "");
  if (!cmd.ok()) return Refuse(cmd.status().message());
  const std::string app = cmd->app.ToString();
  auto link = SauronLink::Open(cfg);
  if (!link.ok()) return Refuse("cannot check access: " + link.status().message());
  auto access = (*link)->Authorize(user, app, cmd->push());
  if (!access.ok()) return Refuse("cannot check access: " + access.status().message());
  if (!access->allowed) return Refuse(access->reason);
  link->reset();  // the connection is not needed by git

  const std::string repo = RepoPath(cfg.repo_root, cmd->app);
  std::error_code ec;
  if (!cmd->push()) {
    if (!fs::is_directory(repo, ec)) return Refuse("app " + app + " has no code yet: nothing was pushed to it");
    execlp("git-upload-pack", "git-upload-pack", "--strict", "--timeout=600", repo.c_str(), nullptr);
    return Refuse(std::string("cannot run git-upload-pack: ") + strerror(errno));
  }

  fs::create_directories(fs::path(repo).parent_path(), ec);
  if (ec) return Refuse("cannot create the repository's directory: " + ec.message());
  // The lock lives as long as git-receive-pack (the fd survives exec): the
  // next push to this app sees the refs this one leaves.
  int lock = open(LockPath(cfg.repo_root, cmd->app).c_str(), O_RDWR | O_CREAT, 0600);
  if (lock < 0) return Refuse(std::string("cannot open the app's push lock: ") + strerror(errno));
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    std::cerr << "gitrecv: another push to " << app << " is running; waiting for it to finish..." << std::endl;
    while (flock(lock, LOCK_EX) != 0) {
      if (errno != EINTR) return Refuse(std::string("cannot take the app's push lock: ") + strerror(errno));
    }
    std::cerr << "gitrecv: the other push to " << app << " is done; going on" << std::endl;
  }
  if (!fs::is_directory(repo, ec)) {
    if (Status s = CreateRepo(repo, access->deploy_branch); !s.ok()) return Refuse(s.message());
  }
  // The limit may have changed since the repo was made; git stops a pack
  // larger than it while receiving, before the hook.
  if (Run({"git", "--git-dir=" + repo, "config", "receive.maxInputSize", std::to_string(cfg.max_repo_bytes)}) != 0) {
    return Refuse("cannot configure " + repo);
  }
  if (Status s = WriteHook(cfg, repo); !s.ok()) return Refuse(s.message());
  setenv("RV_GITRECV_APP", app.c_str(), 1);
  setenv("RV_GITRECV_USER", user.c_str(), 1);
  setenv("RV_GITRECV_BRANCH", access->deploy_branch.c_str(), 1);
  setenv("RV_GITRECV_LOCK_FD", std::to_string(lock).c_str(), 1);
  execlp("git-receive-pack", "git-receive-pack", repo.c_str(), nullptr);
  return Refuse(std::string("cannot run git-receive-pack: ") + strerror(errno));
}

}  // namespace rv::gitrecv
