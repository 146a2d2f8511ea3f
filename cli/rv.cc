// rv: the Rivendell operator CLI. Talks to sauron as user "admin".
//
//   rv [--pod pod.json] COMMAND ...
//      hosts | hosts enroll | hosts drain                          cli/host_cmds.h
//      jobs (ps) | submit | stop | logs                            cli/job_cmds.h
//      config | config:set | config:unset                          cli/config_cmds.h
//      events | counters                                           cli/event_cmds.h
//      env:rotate-key | env:addrs                                  cli/env_cmds.h
//      users[:add] | keys[:add|:remove] | apps[:create|:destroy]
//      | access:grant|revoke                                       cli/account_cmds.h
//      releases | rollback | ps:scale | ps APP | builds | builds:output   cli/release_cmds.h
//      domains[:add|:remove] | certs[:add|:renew]                  cli/domain_cmds.h
//      run APP -- COMMAND (one-off commands)                       cli/run_cmd.h
//      keygen FILE                                                 (here: needs no pod)
//
// The pod config defaults to $RV_POD, else ./pod/pod.json. Exit status: 0 ok,
// 1 the operation failed, 2 bad usage.
//
// main, step by step: 1. each command group adds its subcommands; 2. the
// first subcommand's Heroku spelling ("config:set") becomes CLI11's
// ("config-set"); 3. parse; 4. keygen runs without a pod; 5. names are
// checked before anything is sent; 6. the one group whose command was given
// runs it over one connection to sauron.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/account_cmds.h"
#include "cli/client.h"
#include "cli/config_cmds.h"
#include "cli/domain_cmds.h"
#include "cli/env_cmds.h"
#include "cli/event_cmds.h"
#include "cli/host_cmds.h"
#include "cli/run_cmd.h"
#include "cli/job_cmds.h"
#include "cli/output.h"
#include "cli/release_cmds.h"
#include "common/names.h"
#include "common/transport/curve.h"

namespace {

using rv::Status;
using rv::cli::Fail;

// CLI11 names cannot hold ':', so the subcommand (only it, never a value)
// is rewritten with '-'.
std::vector<std::string> RewriteColonCommand(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].empty() || args[i][0] != '-') {  // the subcommand comes first
      if (auto colon = args[i].find(':'); colon != std::string::npos) args[i][colon] = '-';
      break;
    }
    if (args[i] == "--pod" || args[i] == "--timeout-ms") ++i;  // options that take a value
  }
  return args;
}

int Keygen(const std::string& file, bool force) {
  if (!force && access(file.c_str(), F_OK) == 0) {
    return Fail(Status::Conflict(file + " exists (use --force to replace it)"));
  }
  auto kp = rv::transport::GenerateKeypair();
  if (Status s = rv::transport::SaveKeypair(file, kp); !s.ok()) return Fail(s);
  std::cout << kp.public_key << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rv: operate a Rivendell pod"};
  app.require_subcommand(1);
  const char* env_pod = getenv("RV_POD");
  std::string pod = env_pod && *env_pod ? env_pod : "pod/pod.json";
  int timeout_ms = 3000;
  app.add_option("--pod", pod, "pod config (default $RV_POD or ./pod/pod.json)");
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for sauron");

  rv::cli::HostCommands host_cmds;
  rv::cli::AddHostCommands(app, &host_cmds);
  rv::cli::JobCommands job_cmds;
  rv::cli::AddJobCommands(app, &job_cmds);
  rv::cli::EventCommands event_cmds;
  rv::cli::AddEventCommands(app, &event_cmds);
  rv::cli::ConfigCommands config_cmds;
  rv::cli::AddConfigCommands(app, &config_cmds);
  auto* keygen = app.add_subcommand("keygen", "write a new CURVE key pair (FILE and FILE.pub)");
  std::string kg_file;
  bool kg_force = false;
  keygen->add_option("FILE", kg_file, "key file to write")->required();
  keygen->add_flag("--force", kg_force, "overwrite an existing key");
  rv::cli::EnvCommands env_cmds;
  rv::cli::AddEnvCommands(app, &env_cmds);
  rv::cli::AccountCommands account_cmds;
  rv::cli::AddAccountCommands(app, &account_cmds);
  rv::cli::ReleaseCommands rel_cmds;
  rv::cli::AddReleaseCommands(app, &rel_cmds);
  rv::cli::DomainCommands domain_cmds;
  rv::cli::AddDomainCommands(app, &domain_cmds);
  rv::cli::RunCommand run_cmd;
  rv::cli::AddRunCommand(app, &run_cmd);

  std::vector<std::string> args = RewriteColonCommand(argc, argv);
  std::vector<char*> argv2;
  for (auto& a : args) argv2.push_back(a.data());
  argv2.push_back(nullptr);
  argv = argv2.data();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  if (keygen->parsed()) return Keygen(kg_file, kg_force);

  // Environment names are paths elsewhere: refuse "../../x" before sending.
  const std::string& env = !config_cmds.env.empty() ? config_cmds.env : job_cmds.env;
  if (!env.empty()) {
    if (Status s = rv::names::ValidateEnvRef(env); !s.ok()) return Fail(s);
  }
  auto client = rv::cli::Client::Open(pod, timeout_ms);
  if (!client.ok()) return Fail(client.status());
  rv::cli::Client& c = **client;
  if (int rc = rv::cli::RunEnvCommands(c, env_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunAccountCommands(c, account_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunReleaseCommands(c, rel_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunDomainCommands(c, domain_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunRunCommand(c, run_cmd); rc >= 0) return rc;
  if (int rc = rv::cli::RunHostCommands(c, host_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunJobCommands(c, job_cmds, rel_cmds.PsOfAllJobs()); rc >= 0) return rc;
  if (int rc = rv::cli::RunConfigCommands(c, config_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunEventCommands(c, event_cmds); rc >= 0) return rc;
  return 2;
}
