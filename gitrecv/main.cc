// gitrecv: the pod's git server (issue 17). See commands.h for the
// subcommands and docs/GITRECV.md for the design.
#include <signal.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "gitrecv/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"gitrecv: git push deploys over Debian's sshd"};
  app.require_subcommand(1);
  std::string config;
  app.add_option("--config", config, "gitrecv.json (written by gitrecv setup)");

  rv::gitrecv::SetupOptions so;
  auto* setup = app.add_subcommand("setup", "create the git user, sshd config, host key and gitrecv.json in DIR");
  setup->add_option("--pod", so.pod, "the pod's pod.json")->required();
  setup->add_option("--dir", so.dir, "gitrecv's directory (e.g. POD_DIR/gitrecv)")->required();
  setup->add_option("--port", so.port, "sshd's port")->check(CLI::Range(1, 65535));
  setup->add_option("--listen", so.listen, "sshd's address");
  setup->add_option("--user", so.user, "the system user git logs in as");
  setup->add_option("--on-push", so.on_push, "command run for a push of the deploy branch (default: rv-deploy)");
  setup->add_option("--on-run", so.on_run,
                    "command run for a console command, + --for USER --max-run-s N APP -- LINE (default: rv ... run; off: no console)");
  setup->add_option("--on-app", so.on_app,
                    "command run for a customer's logs/ps/releases/builds/config/rollback, + VERB APP [WORDS] (default: rv --pod POD; off: none)");
  setup->add_option("--max-repo-bytes", so.max_repo_bytes, "refuse pushes that grow a repo past this")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 50));
  setup->add_option("--hook-timeout-s", so.hook_timeout_s, "stop an on-push command after this long")
      ->check(CLI::Range(1, 86400));
  setup->add_flag("--on-push-as-git-user", so.on_push_as_git_user,
                  "run the on-push command as the git user, without the root deploy runner");
  std::string run_dir;
  auto* run = app.add_subcommand("run", "run gitrecv's sshd in the foreground (exec sshd -D)");
  run->add_option("--dir", run_dir, "the directory gitrecv setup wrote")->required();
  std::string k_user, k_type, k_blob;
  auto* keys = app.add_subcommand("keys", "sshd's AuthorizedKeysCommand: %u %t %k");
  keys->add_option("USER", k_user)->required();
  keys->add_option("TYPE", k_type)->required();
  keys->add_option("BLOB", k_blob)->required();
  std::string s_user;
  auto* shell = app.add_subcommand("shell", "the forced command of an enrolled key");
  shell->add_option("USER", s_user)->required();
  auto* hook = app.add_subcommand("hook", "the pre-receive hook of an app's repo");
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  if (setup->parsed()) return rv::gitrecv::RunSetup(so, "/proc/self/exe");
  if (run->parsed()) return rv::gitrecv::RunSshd(run_dir);
  if (config.empty()) {
    std::cerr << "gitrecv: --config is required\n";
    return 2;
  }
  auto cfg = rv::gitrecv::LoadGitrecvConfig(config);
  if (!cfg.ok()) {
    std::cerr << "gitrecv: " << cfg.status().message() << "\n";
    return 1;
  }
  if (keys->parsed()) return rv::gitrecv::RunKeys(*cfg, k_user, k_type, k_blob);
  if (shell->parsed()) return rv::gitrecv::RunShell(*cfg, s_user);
  if (hook->parsed()) return rv::gitrecv::RunHook(*cfg);
  return 2;
}
