// GitrecvConfig: the git server's settings, one JSON file written by
// `gitrecv setup` and read by every other gitrecv command.
//
//   {"user": "rvgit", "listen": "127.0.0.1", "port": 7430,
//    "repo_root": "DIR/repos", "on_push": ["/path/rv-deploy"],
//    "max_repo_bytes": 1073741824, "hook_timeout_s": 1800,
//    "sauron_api": "tcp://...", "sauron_public_key": "<Z85>",
//    "client_key": "DIR/client.key", "pod": "/path/pod.json",
//    "binary": "/path/gitrecv", "runner_socket": "DIR/run/deploy.sock",
//    "on_run": ["/path/rv", "--pod", "/path/pod.json", "run"],
//    "on_app": ["/path/rv", "--pod", "/path/pod.json"]}
//
// Contract: unknown keys are refused (a typo is not silently ignored); paths
// are absolute; on_push is an argv prefix (no shell) to which gitrecv appends
// --app T/E/A --commit SHA --source DIR --user USER. Pure parse, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace rv::gitrecv {

struct GitrecvConfig {
  std::string user = "rvgit";
  std::string listen = "127.0.0.1";
  int port = 7430;
  std::string repo_root;
  std::vector<std::string> on_push;
  // The console's one-off commands (docs/GITRECV.md "Console"): an argv
  // prefix, `rv --pod POD run` by default; empty = no console.
  std::vector<std::string> on_run;
  // The customers' app commands (logs, ps, releases, builds, config,
  // rollback: gitrecv/app_command.h): an argv prefix, `rv --pod POD` by
  // default; empty = none.
  std::vector<std::string> on_app;
  int64_t max_repo_bytes = int64_t{1} << 30;  // 1 GiB
  int hook_timeout_s = 1800;
  std::string sauron_api;
  std::string sauron_public_key;
  std::string client_key;
  std::string pod;
  std::string binary;
  // "" = the hook runs on_push itself, as the git user; else the socket of
  // `gitrecv run`'s root deploy runner (deploy_runner.h).
  std::string runner_socket;
  std::string path;  // where it was loaded from (not in the file)
};

Result<GitrecvConfig> ParseGitrecvConfig(const std::string& json_text);
Result<GitrecvConfig> LoadGitrecvConfig(const std::string& path);
std::string GitrecvConfigJson(const GitrecvConfig& c);

}  // namespace rv::gitrecv
