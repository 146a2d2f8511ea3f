// The gitrecv subcommands (main.cc parses the command line):
//   gitrecv setup --pod POD.json --dir DIR [--port P] [--listen ADDR] [--user U]
//                 [--on-push CMD] [--on-run CMD|off] [--max-repo-bytes N] [--hook-timeout-s N]
//       creates the system user, DIR/{gitrecv.json, sshd_config, host key,
//       client.key, repos/, url}; idempotent.
//   gitrecv run --dir DIR         sshd -D -f DIR/sshd_config -E DIR/sshd.log, and the
//                                 root deploy runner (deploy_runner.h) until SIGTERM
//   gitrecv --config CFG keys USER TYPE BLOB   sshd's AuthorizedKeysCommand
//   gitrecv --config CFG shell USER            the forced command of every key
//   gitrecv --config CFG hook                  each repo's pre-receive hook
// Each returns the process's exit code; messages go to stderr, prefixed
// "gitrecv: " (the pusher sees them, as "remote: gitrecv: ..." from the hook).
#pragma once

#include <string>

#include "gitrecv/config.h"

namespace rv::gitrecv {

struct SetupOptions {
  std::string pod, dir, listen = "127.0.0.1", user = "rvgit", on_push;
  std::string on_run;  // the console's command (default: rv next to gitrecv, `--pod POD run`); "off": none
  std::string on_app;  // the app commands: logs, ps, ... (default: rv next to gitrecv, `--pod POD`); "off": none
  int port = 7430;
  int64_t max_repo_bytes = int64_t{1} << 30;
  int hook_timeout_s = 1800;
  bool on_push_as_git_user = false;  // no root deploy runner
};
int RunSetup(const SetupOptions& o, const std::string& self);
int RunSshd(const std::string& dir);
int RunKeys(const GitrecvConfig& cfg, const std::string& user, const std::string& type, const std::string& blob);
int RunShell(const GitrecvConfig& cfg, const std::string& user);
int RunHook(const GitrecvConfig& cfg);

// The authorized_keys line for an enrolled key (pure).
std::string AuthorizedKeyLine(const GitrecvConfig& cfg, const std::string& user, const std::string& type,
                              const std::string& blob);
// The sshd_config `gitrecv setup` writes (pure).
std::string SshdConfig(const GitrecvConfig& cfg, const std::string& dir);

}  // namespace rv::gitrecv
