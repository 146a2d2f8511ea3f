// The jobs' operator commands, kept out of rv.cc:
//   rv jobs (or rv ps)                         jobs, where they run, why pending
//   rv submit --service S [--replicas N] [--ha] [...] -- COMMAND...
//   rv submit --service S --image REF [--port N --health-http PATH] [--env ENV]
//   rv stop JOB...
//   rv logs [-f] JOB                           the job's log, read through sauron
//                                              from its host wherever it is
//                                              (cli/remote_log.h); --data-dir reads
//                                              a host's files on this machine
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/client.h"

namespace rv::cli {

struct JobCommands {
  CLI::App* jobs = nullptr;
  CLI::App* submit = nullptr;
  CLI::App* stop = nullptr;
  CLI::App* logs = nullptr;
  CLI::App* proxy_ensure = nullptr;
  std::string proxy_env, proxy_image = "rivendell/proxy:latest";
  std::string app;  // submit --app
  // submit
  std::string service, strategy, kind = "deploy", restart = "on-failure", image, health_http, env;
  int replicas = 1, port = 0;
  int64_t ram_mb = 64, disk_mb = 64, cpu_millis = 100;
  bool ha = false, spread_zones = false;
  std::vector<std::string> constraints, command;
  // stop
  std::vector<std::string> stop_ids;
  // logs
  std::string log_job, log_data_dir;
  bool log_follow = false;
  bool log_router = false;  // logs APP --router: its env proxies' access log lines for APP
  bool log_raw = false;     // logs --raw: no terminal-safe filtering (cli/log_printer.h)
  bool log_safe = false;    // logs --safe: that filtering even when stdout is no terminal (gitrecv's app commands)
  int64_t log_tail_bytes = 64 * 1024;
};

void AddJobCommands(CLI::App& app, JobCommands* cmds);
// Runs the parsed job command (`list_jobs`: another group's spelling of
// `rv jobs`, e.g. `rv ps` without an app); -1 if none of them was given.
int RunJobCommands(Client& c, const JobCommands& cmds, bool list_jobs);

}  // namespace rv::cli
