#include "gitrecv/git_command.h"

namespace rv::gitrecv {
namespace {

constexpr size_t kMaxCommand = 1024;

Status Refuse(const std::string& why) { return Status::Invalid(why); }

}  // namespace

Result<GitCommand> ParseGitCommand(const std::string& cmd) {
  if (cmd.empty()) {
    return Refuse("this is a git server: no shell here. Use git push / git clone with the app's URL, or: run APP -- "
                  "COMMAND, logs APP [-f] [--router], ps APP, releases APP, builds APP, builds:output APP N, config APP, "
                  "rollback APP [vN]");
  }
  if (cmd.size() > kMaxCommand) return Refuse("command too long");
  GitCommand out;
  std::string rest;
  auto starts = [&](const char* p) {
    std::string s(p);
    if (cmd.compare(0, s.size(), s) != 0) return false;
    rest = cmd.substr(s.size());
    return true;
  };
  if (starts("git-receive-pack ") || starts("git receive-pack ")) {
    out.verb = GitCommand::Verb::kReceivePack;
  } else if (starts("git-upload-pack ") || starts("git upload-pack ")) {
    out.verb = GitCommand::Verb::kUploadPack;
  } else {
    return Refuse(
        "only git push, git clone/fetch, run and the app commands (logs, ps, releases, builds, config, config:set, "
        "config:unset, rollback, restart, domains, domains:add, domains:remove) are served here, not " +
        names::Quote(cmd, 40));
  }
  // One argument: 'PATH' as git quotes it, or a bare PATH.
  std::string path;
  if (!rest.empty() && rest.front() == '\'') {
    if (rest.size() < 2 || rest.back() != '\'') return Refuse("unbalanced quotes in " + names::Quote(cmd, 80));
    path = rest.substr(1, rest.size() - 2);
  } else {
    path = rest;
  }
  for (char c : path) {
    if (c == '\'' || c == '"' || c == '\\' || c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20) {
      return Refuse("the repository path " + names::Quote(path) + " must be TENANT/ENV/APP.git");
    }
  }
  std::string p = path;
  if (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (!p.empty() && p.back() == '/') p.pop_back();
  if (p.size() > 4 && p.compare(p.size() - 4, 4, ".git") == 0) p.resize(p.size() - 4);
  auto app = names::ParseAppRef(p);
  if (!app.ok()) {
    return Refuse("the repository path " + names::Quote(path) + " must be TENANT/ENV/APP.git (" +
                  app.status().message() + ")");
  }
  out.app = *app;
  return out;
}

std::string RepoPath(const std::string& root, const names::AppRef& app) {
  return root + "/" + app.tenant + "/" + app.env + "/" + app.app + ".git";
}

std::string LockPath(const std::string& root, const names::AppRef& app) {
  return root + "/" + app.tenant + "/" + app.env + "/" + app.app + ".lock";
}

}  // namespace rv::gitrecv
