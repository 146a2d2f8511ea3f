// Apps' releases, builds and processes (issue 17), kept out of rv.cc:
//   rv releases APP              every release, newest first; * = current
//   rv rollback APP [vN]         a new release vM with vN's image (default: the
//                                deployed release before the current one),
//                                rolled out like a deploy, without a build
//   rv ps:scale APP TYPE=N...    sets the formation and rolls the current
//                                release out to it (no new release)
//   rv restart APP               (or ps:restart) a new release vM with the
//                                current one's image, rolled out like a
//                                deploy: every replica replaced, one by one,
//                                none of them down before its successor is up
//   rv ps [APP]                  each replica of APP: type, release, host,
//                                state; without APP, every job (rv jobs)
//   rv builds APP                every build, newest first
//   rv builds:output APP N       build N's whole output
// APP is TENANT/ENV/APP. Rollouts print Heroku-style progress, take the app's
// deploy lock (deploy/app_lock.h) and exit 1 when the release is rolled back.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/client.h"
#include "common/msg/releases.h"

namespace rv::cli {

struct ReleaseCommands {
  CLI::App* releases = nullptr;
  CLI::App* rollback = nullptr;
  CLI::App* restart = nullptr;
  CLI::App* scale = nullptr;
  CLI::App* ps = nullptr;
  CLI::App* builds = nullptr;
  CLI::App* output = nullptr;
  std::string app;
  std::string version;              // rollback: "vN" or "N"; builds:output: "N"
  std::vector<std::string> counts;  // ps:scale: TYPE=N
  int boot_timeout_s = 60;
  int port = 5000;
  // `rv ps` without an app: the caller lists every job.
  bool PsOfAllJobs() const { return ps && ps->parsed() && app.empty(); }
};

std::string FormatReleases(const msg::ReleaseList& l);  // pure, for tests
Result<std::map<std::string, int32_t>> ParseCounts(const std::vector<std::string>& items);

void AddReleaseCommands(CLI::App& app, ReleaseCommands* cmds);
// Runs the parsed command; -1 if none of them was given.
int RunReleaseCommands(Client& c, const ReleaseCommands& cmds);
// After `rv config:set/unset ENV`: rolls out the releases sauron made for the
// apps of ENV. Returns 0, or 1 when one was rolled back.
int RollOutConfigReleases(Client& c, const std::string& env);

}  // namespace rv::cli
