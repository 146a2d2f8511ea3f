#include "cli/run_cmd.h"

#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "cli/console_input.h"
#include "cli/log_printer.h"
#include "cli/output.h"
#include "cli/remote_log.h"
#include "common/clock.h"
#include "common/console_job.h"
#include "common/msg/releases.h"
#include "common/names.h"
#include "common/stop_signal.h"
#include "deploy/one_off.h"
#include "deploy/sauron_io.h"

namespace rv::cli {

std::string CommandLine(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  return line;
}

void AddRunCommand(CLI::App& app, RunCommand* cmd) {
  cmd->run = app.add_subcommand("run", "run a one-off command in a new container of an app's current release");
  cmd->run->add_option("APP", cmd->app, "TENANT/ENV/APP")->required();
  cmd->run->add_option("command", cmd->command, "the command (after --), run like a Procfile line")->required();
  cmd->run->add_option("--start-timeout-s", cmd->start_timeout_s, "give up if it has not started by then")
      ->check(CLI::Range(1, 3600));
  cmd->run->add_option("--ram-mb", cmd->ram_mb, "RAM for its container")->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
  cmd->run->add_flag("--raw", cmd->raw, "the output's bytes as written, even on a terminal");
  cmd->run->add_option("--max-run-s", cmd->max_run_s, "stop the command after this long (default: never)")
      ->check(CLI::Range(0, 7 * 86400));
  cmd->run->add_flag("-n,--no-stdin", cmd->no_stdin, "do not pass stdin on: the command's input ends at once");
  cmd->run->add_flag("-d,--detach", cmd->detach,
                     "start it and return (its output: rv logs APP; stopped when it ends)");
  cmd->run->add_option("--for", cmd->for_user, "the user it runs for (gitrecv's console), said and put in RV_RUN_USER");
}

int RunRunCommand(Client& c, const RunCommand& cmd) {
  if (cmd.run == nullptr || !cmd.run->parsed()) return -1;
  if (auto ref = names::ParseAppRef(cmd.app); !ref.ok()) return Fail(ref.status());
  const std::string line = CommandLine(cmd.command);
  if (line.empty()) return Fail(Status::Invalid("rv run needs a command: rv run APP -- COMMAND"));
  if (!cmd.for_user.empty()) {
    if (Status s = names::ValidateName(cmd.for_user, "user"); !s.ok()) return Fail(s);
  }
  msg::ReleaseList l;
  if (Status s = c.Call(msg::ReleasesRequest{cmd.app, 1000}, &l); !s.ok()) return Fail(s);
  const msg::ReleaseRecord* current = nullptr;
  for (const auto& r : l.releases) {
    if (r.version == l.current) current = &r;
  }
  if (current == nullptr || current->image.empty()) {
    return Fail(Status::NotFound(cmd.app + " has no deployed release to run a command in (git push it first)"));
  }
  deploy::RolloutOptions ro;
  ro.resources.ram_mb = cmd.ram_mb;
  msg::JobSpec job = deploy::OneOffJob(*current, line, ro, deploy::Nonce());
  if (!cmd.for_user.empty()) job.config[kRunUserVar] = cmd.for_user;
  std::cerr << "-----> Running `" << Printable(line) << "` on " << cmd.app << " v" << current->version
            << (cmd.for_user.empty() ? "" : " for " + cmd.for_user) << (cmd.detach ? ", detached" : "") << "\n";
  if (cmd.detach) {
    if (cmd.max_run_s > 0) return Fail(Status::Invalid("--max-run-s needs rv to wait for the command: not with --detach"));
    deploy::SauronIo io(c);
    deploy::OneOffOptions o;
    o.start_timeout_ms = int64_t{cmd.start_timeout_s} * 1000;
    auto host = deploy::StartDetached(io, job, o, [](const std::string& p) { std::cerr << Printable(p) << "\n"; });
    if (!host.ok()) return Fail(host.status());
    std::cerr << "-----> Detached: its output: rv logs " << job.id << " [-f] (in rv logs " << cmd.app
              << " while it runs); its job stops when the command ends\n";
    std::cout << job.id << "\n";  // for scripts
    return 0;
  }
  stop_signal::Install({}, stop_signal::Sigpipe::kKeep);
  deploy::SauronIo io(c);
  // From the start of its output: the first read is its last 1 MiB, taken
  // within a poll (200 ms) of the command starting.
  RemoteLog log(SauronLogCalls(c), job.id, msg::kMaxLogChunkBytes);
  LogPrinter printer(!cmd.raw && isatty(STDOUT_FILENO) == 1, std::cout);
  deploy::OneOffOptions o;
  o.start_timeout_ms = int64_t{cmd.start_timeout_s} * 1000;
  const int64_t started_ms = MonotonicMs();
  bool too_long = false;
  // Its input, from the job's submission (RunOneOff asks `interrupted` first
  // thing after it) until it ends; a connection of its own (another thread).
  int in_fd = cmd.no_stdin ? open("/dev/null", O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
  InputPump input(in_fd, job.id, SauronInputSend(std::shared_ptr<transport::RpcClient>(c.NewRpc())),
                  [](const std::string& s) { std::cerr << Printable(s) << "\n"; });
  bool input_started = false;
  auto code = deploy::RunOneOff(
      io, job, o, [&] { return log.Step(); }, [&](const std::string& s) { printer.Feed(s); },
      [](const std::string& p) { std::cerr << Printable(p) << "\n"; },
      // Output that nobody reads any more (the console's ssh client went
      // away), or that can no longer be written, ends the command like Ctrl-C.
      [&] {
        if (!input_started) input.Start();
        input_started = true;
        too_long = cmd.max_run_s > 0 && MonotonicMs() - started_ms > int64_t{cmd.max_run_s} * 1000;
        return too_long || stop_signal::Requested() || !std::cout.good() || OutputGone();
      });
  input.Stop();
  if (cmd.no_stdin && in_fd >= 0) close(in_fd);
  printer.Finish();
  if (too_long) {
    Fail(Status::Unavailable("the command ran longer than " + std::to_string(cmd.max_run_s) + " s: it was stopped"));
    return 124;  // as timeout(1) says it
  }
  if (!code.ok()) {
    Fail(code.status());
    return stop_signal::Requested() ? 130 : 1;  // 128 + SIGINT, as a shell says it
  }
  std::cerr << "-----> exited with code " << *code << "\n";
  return *code;
}

}  // namespace rv::cli
