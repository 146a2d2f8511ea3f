#include "cli/job_cmds.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "cli/log_group.h"
#include "cli/log_printer.h"
#include "cli/remote_log.h"
#include "cli/output.h"
#include "cli/table.h"
#include "common/clock.h"
#include "common/console_job.h"
#include "common/host_layout.h"
#include "common/msg/logs.h"
#include "common/names.h"
#include "common/proxy_job.h"
#include "common/states.h"
#include "common/stop_signal.h"
#include "strider/container/container_runtime.h"
#include "strider/container/log_follow.h"

namespace rv::cli {
namespace {

// A log is hostile text: made safe on a terminal unless --raw (cli/log_printer.h).
bool SafeOutput(const JobCommands& cmds) { return !cmds.log_raw && (cmds.log_safe || isatty(STDOUT_FILENO) == 1); }

// Whole lines of several logs, each prefixed with its job's id; a line split
// across chunks waits for its end, or for an empty chunk (the log's end).
// With --router, only the lines of APP's backends (its body-limited twin too)
// in its proxies' access logs.
class PrefixedLines {
 public:
  PrefixedLines(bool safe, std::mutex* out_mu) : safe_(safe), out_mu_(out_mu) {}
  static PrefixedLines Router(const std::string& app, bool safe, std::mutex* out_mu) {
    PrefixedLines p(safe, out_mu);
    p.needles_ = {" " + ProxyBackendName(app) + "/", " " + ProxyBodyBackendName(app) + "/"};
    return p;
  }
  std::function<void(const std::string&)> For(const std::string& job_id) const {
    return [this, job_id, partial = std::string()](const std::string& chunk) mutable {
      partial += chunk.empty() && !partial.empty() ? "\n" : chunk;
      size_t start = 0, nl;
      std::lock_guard<std::mutex> l(*out_mu_);
      while ((nl = partial.find('\n', start)) != std::string::npos) {
        std::string_view line(partial.data() + start, nl - start);
        if (Wanted(line)) std::cout << job_id << " " << (safe_ ? LogPrinter::SafeLine(line) : std::string(line)) << "\n";
        start = nl + 1;
      }
      partial.erase(0, start);
      std::cout << std::flush;
    };
  }

 private:
  bool Wanted(std::string_view line) const {
    if (needles_.empty()) return true;
    for (const auto& n : needles_)
      if (line.find(n) != std::string_view::npos) return true;
    return false;
  }

  std::vector<std::string> needles_;  // none: every line
  bool safe_;
  std::mutex* out_mu_;
};

// Follows `group` until interrupted or nobody reads the output any more
// (gitrecv's ssh client went away): a step of each job in turn, a moment's
// wait when none had news, and the jobs to read asked again (relist, if
// given) every 2 s, so a replica placed meanwhile is followed too.
void FollowGroup(LogGroup& group, const std::function<Result<std::vector<std::string>>()>& relist) {
  constexpr int64_t kRelistMs = 2000;
  int64_t listed = MonotonicMs();
  while (!stop_signal::Requested() && !OutputGone()) {
    auto step = group.Step(/*stop_at_error=*/false);  // a job it cannot read is said, not fatal
    bool news = step.ok() && *step;
    if (relist && MonotonicMs() - listed >= kRelistMs) {
      if (auto ids = relist(); ids.ok()) group.Update(*ids);  // else: the same jobs, asked again later
      listed = MonotonicMs();
    }
    for (int i = 0; !news && i < 5 && !stop_signal::Requested(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  group.Finish();
}

// The last `bytes` of the file at `path` ("" if it cannot be read).
std::string ReadTail(const std::string& path, int64_t bytes) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  in.seekg(std::max<int64_t>(0, size - std::max<int64_t>(0, bytes)));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// An app's logs or --router with --data-dir: the jobs' console logs under that dir, read here.
int LocalGroupLogs(const JobCommands& cmds, const std::vector<std::pair<std::string, std::string>>& logs,
                   const PrefixedLines& lines) {
  if (!cmds.log_follow) {
    for (const auto& [id, path] : logs) {
      auto sink = lines.For(id);
      sink(ReadTail(path, cmds.log_tail_bytes));
      sink("");
    }
    return 0;
  }
  std::vector<std::thread> followers;
  std::vector<Status> results(logs.size());
  for (size_t i = 0; i < logs.size(); ++i) {
    followers.emplace_back([&, i] {
      results[i] = container::FollowLog(logs[i].second, cmds.log_tail_bytes, lines.For(logs[i].first),
                                        [] { return stop_signal::Requested(); });
      stop_signal::Request();  // one follower failing ends the others: the output would be partial
    });
  }
  for (auto& t : followers) t.join();
  for (const auto& r : results)
    if (!r.ok()) return Fail(r);
  return 0;
}

// The jobs whose logs `rv logs APP` reads: the app's own (its processes and
// one-offs; a build's output is `rv builds:output`), or with --router its
// environment's proxies; those placed, and (stopped_since_ms > 0) those
// stopped since then, so a one-off that ran between two listings is read too.
std::vector<std::string> GroupIds(const std::vector<msg::JobRecord>& jobs, const names::AppRef& app, bool router,
                                  int64_t stopped_since_ms = 0) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) {
    const bool recent = stopped_since_ms > 0 && j.state == job_state::kStopped && j.updated_ms >= stopped_since_ms;
    if ((j.state != job_state::kPlaced && !recent) || j.host_id.empty() || j.spec.env != app.EnvRef()) continue;
    const bool own = (j.spec.kind == "deploy" || j.spec.kind == kConsoleJobKind) && j.spec.app == app.app;
    if (router ? j.spec.kind == "proxy" : own) ids.push_back(j.spec.id);
  }
  return ids;
}

// rv logs TENANT/ENV/APP [-f]: the logs of every placed job of APP (its
// processes' replicas and one-off commands); with --router, the access log
// lines of APP (its backends, common/proxy_job.h) from every placed proxy job
// of its environment. Each line is prefixed with its job's id; read through
// sauron from the jobs' hosts (or, with --data-dir, from that dir here). -f
// follows them, and the jobs placed meanwhile (LogGroup; with --data-dir only
// those placed when it starts).
int GroupLogs(Client& c, const JobCommands& cmds, const std::vector<msg::JobRecord>& jobs) {
  auto ref = names::ParseAppRef(cmds.log_job);
  if (!ref.ok()) return Fail(Status::Invalid(cmds.log_router ? "--router needs TENANT/ENV/APP" : ref.status().message()));
  const std::string app = ref->ToString();
  const std::string env = ref->EnvRef();
  std::vector<std::string> ids = GroupIds(jobs, *ref, cmds.log_router);
  if (ids.empty() && cmds.log_router) {
    return Fail(Status::NotFound("environment " + env + " runs no proxy (rv proxy:ensure " + env + ")"));
  }
  if (ids.empty()) return Fail(Status::NotFound(app + " runs nothing now (rv ps " + app + ")"));
  std::mutex out_mu;
  PrefixedLines lines = cmds.log_router ? PrefixedLines::Router(app, SafeOutput(cmds), &out_mu)
                                        : PrefixedLines(SafeOutput(cmds), &out_mu);
  stop_signal::Install({}, stop_signal::Sigpipe::kKeep);
  if (!cmds.log_data_dir.empty()) {
    namespace layout = host_layout;
    std::vector<std::pair<std::string, std::string>> logs;  // job id, its console log
    for (const auto& id : ids) {
      std::string path = layout::ConsoleLogPath(
          layout::ContainerDir(layout::ContainerStateDir(cmds.log_data_dir), container::ContainerIdFor(id)));
      if (access(path.c_str(), R_OK) == 0) logs.emplace_back(id, path);
    }
    if (logs.empty()) {
      return Fail(Status::NotFound("no " + (cmds.log_router ? "proxy log of " + env : "log of " + app) + " under " +
                                   cmds.log_data_dir));
    }
    return LocalGroupLogs(cmds, logs, lines);
  }
  LogGroup group(SauronLogCalls(c), cmds.log_tail_bytes, [&](const std::string& id) { return lines.For(id); }, std::cerr);
  group.Update(ids);
  if (!cmds.log_follow) {
    auto once = group.Step(/*stop_at_error=*/true);
    group.Finish();
    return once.ok() ? 0 : Fail(once.status());
  }
  int64_t listed_ms = WallMs();
  FollowGroup(group, [&]() -> Result<std::vector<std::string>> {
    const int64_t now = WallMs();
    auto l = c.List("jobs");
    if (!l.ok()) return l.status();
    // A second's margin: sauron's clock may be a little behind this one.
    auto ids = GroupIds(l->jobs, *ref, cmds.log_router, listed_ms - 1000);
    listed_ms = now;
    return ids;
  });
  return 0;
}

// rv logs JOB --data-dir DIR (or its host's files on this machine): the file, read here.
int LocalLogs(const JobCommands& cmds, const std::string& path) {
  LogPrinter printer(SafeOutput(cmds), std::cout);
  if (!cmds.log_follow) {
    printer.Feed(ReadTail(path, cmds.log_tail_bytes));
    printer.Finish();
    return 0;
  }
  Status s = container::FollowLog(
      path, cmds.log_tail_bytes, [&](const std::string& chunk) { printer.Feed(chunk); },
      [] { return stop_signal::Requested(); });
  printer.Finish();
  return s.ok() ? 0 : Fail(s);
}

// rv logs [-f] JOB: read through sauron from the job's host, wherever it is.
// Its host's files on this machine are read instead with --data-dir, or when
// sauron cannot reach the host (lost, its strider down) and they are here
// (a one-machine pod).
int Logs(Client& c, const JobCommands& cmds) {
  auto l = c.List("jobs");
  if (!l.ok()) return Fail(l.status());
  // A job id has no '/': TENANT/ENV/APP is an app (or, with --router, its requests).
  if (cmds.log_router || cmds.log_job.find('/') != std::string::npos) return GroupLogs(c, cmds, l->jobs);
  const msg::JobSpec* spec = nullptr;
  std::string host;
  for (const auto& j : l->jobs) {
    if (j.spec.id == cmds.log_job) {
      spec = &j.spec;
      host = j.host_id;
    }
  }
  if (!spec) return Fail(Status::NotFound("no job " + cmds.log_job));
  if (host.empty() && cmds.log_data_dir.empty()) return Fail(Status::NotFound(cmds.log_job + " is not placed on a host"));
  namespace layout = host_layout;
  std::string dir = cmds.log_data_dir.empty() ? layout::DefaultDataDir(c.config().pod_dir, host) : cmds.log_data_dir;
  std::string path = spec->image.empty() ? layout::ProcessLogPath(dir, cmds.log_job)
                                         : layout::ConsoleLogPath(layout::ContainerDir(
                                               layout::ContainerStateDir(dir), container::ContainerIdFor(cmds.log_job)));
  stop_signal::Install({}, stop_signal::Sigpipe::kKeep);
  if (!cmds.log_data_dir.empty()) {
    if (access(path.c_str(), R_OK) != 0) return Fail(Status::NotFound("no log at " + path));
    return LocalLogs(cmds, path);
  }
  LogPrinter printer(SafeOutput(cmds), std::cout);
  LogGroup group(
      SauronLogCalls(c), cmds.log_tail_bytes,
      [&](const std::string&) { return [&](const std::string& chunk) { printer.Feed(chunk); }; }, std::cerr);
  group.Update({cmds.log_job});
  auto first = group.Step(/*stop_at_error=*/true);
  if (!first.ok()) {
    if (first.status().code() == Status::Code::kUnavailable && access(path.c_str(), R_OK) == 0) {
      std::cerr << "rv: " << Printable(first.status().message()) << "; reading its files on this machine\n";
      return LocalLogs(cmds, path);
    }
    if (!(cmds.log_follow && first.status().code() == Status::Code::kNotFound)) return Fail(first.status());
  }
  if (cmds.log_follow) FollowGroup(group, nullptr);
  printer.Finish();
  return 0;
}

int Submit(Client& c, const JobCommands& cmds) {
  if (cmds.image.empty() && cmds.command.empty()) return Fail(Status::Invalid("submit needs --image or a command"));
  if (!cmds.health_http.empty() && cmds.port == 0) return Fail(Status::Invalid("--health-http needs --port"));
  auto constraints = ParsePairs(cmds.constraints, "constraint");
  if (!constraints.ok()) return Fail(constraints.status());
  msg::SubmitJobs req;
  for (int n = 1; n <= cmds.replicas; ++n) {
    msg::JobSpec j;
    j.id = cmds.service + "-" + std::to_string(n);
    j.kind = cmds.kind;
    j.service = cmds.service;
    j.replica = n;
    j.resources = {cmds.ram_mb, cmds.disk_mb, cmds.cpu_millis};
    j.rules.ha = cmds.ha;
    j.rules.spread_zones = cmds.spread_zones;
    j.rules.constraints = *constraints;
    j.strategy = cmds.strategy;
    j.command = cmds.command;
    j.restart = cmds.restart;
    j.image = cmds.image;
    j.port = cmds.port;
    j.health.http_path = cmds.health_http;
    j.env = cmds.env;
    j.app = cmds.app;
    if (!cmds.env.empty()) j.tenant = cmds.env.substr(0, cmds.env.find('/'));
    req.jobs.push_back(std::move(j));
  }
  msg::JobIds ids;
  if (Status s = c.Call(req, &ids); !s.ok()) return Fail(s);
  for (const auto& id : ids.ids) std::cout << id << "\n";
  return 0;
}

// The env's two proxy jobs (common/proxy_job.h), those not already there.
int ProxyEnsure(Client& c, const JobCommands& cmds) {
  auto jobs = ProxyJobsFor(cmds.proxy_env, cmds.proxy_image);
  if (!jobs.ok()) return Fail(jobs.status());
  auto l = c.List("jobs");
  if (!l.ok()) return Fail(l.status());
  std::set<std::string> live;
  for (const auto& j : l->jobs) {
    if (j.state != "stopped") live.insert(j.spec.id);
  }
  msg::SubmitJobs req;
  for (auto& j : *jobs) {
    if (live.count(j.id)) {
      std::cout << j.id << " exists\n";
    } else {
      req.jobs.push_back(j);
    }
  }
  if (req.jobs.empty()) return 0;
  msg::JobIds ids;
  if (Status s = c.Call(req, &ids); !s.ok()) return Fail(s);
  for (const auto& id : ids.ids) std::cout << id << " (port " << ProxyPortFor(cmds.proxy_env) << ")\n";
  return 0;
}

}  // namespace

void AddJobCommands(CLI::App& app, JobCommands* cmds) {
  cmds->jobs = app.add_subcommand("jobs", "list jobs and where they run");

  auto* s = cmds->submit = app.add_subcommand("submit", "submit the replicas of a service");
  s->add_option("--service", cmds->service, "service name; replicas are <service>-1..N")->required();
  s->add_option("--replicas", cmds->replicas, "number of replicas")->check(CLI::Range(1, 10000));
  s->add_option("--ram-mb", cmds->ram_mb, "RAM per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  s->add_option("--disk-mb", cmds->disk_mb, "disk per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  s->add_option("--cpu-millis", cmds->cpu_millis, "CPU per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  s->add_flag("--ha", cmds->ha, "replicas never share a host");
  s->add_flag("--spread-zones", cmds->spread_zones, "spread replicas over zones");
  s->add_option("--constraint", cmds->constraints, "host label k=v the job needs (repeatable)");
  s->add_option("--strategy", cmds->strategy, "binpack | spread")->check(CLI::IsMember({"", "binpack", "spread"}));
  // Build jobs carry their inputs (common/build_job.h): rv-deploy makes them, not submit.
  s->add_option("--kind", cmds->kind, "deploy (build jobs come from git push / rv-deploy)")->check(CLI::IsMember({"deploy"}));
  s->add_option("--restart", cmds->restart, "always | on-failure | never")
      ->check(CLI::IsMember({"always", "on-failure", "never"}));
  s->add_option("--image", cmds->image, "run this image (registry reference) as a container");
  s->add_option("--port", cmds->port, "the app's listening port (health-checked)")->check(CLI::Range(0, 65535));
  s->add_option("--health-http", cmds->health_http, "HTTP path that must answer 2xx/3xx (needs --port)");
  s->add_option("--env", cmds->env, "the environment (its config vars and secrets are set with config:set)");
  s->add_option("--app", cmds->app, "the app the replicas serve (its environment's proxy routes its names to them)");
  s->add_option("command", cmds->command, "the command to run (after --); with --image, overrides the entrypoint");

  cmds->logs = app.add_subcommand("logs", "print a job's log (or an app's jobs' logs), read through sauron from its host");
  cmds->logs->add_option("JOB", cmds->log_job, "job id, or TENANT/ENV/APP: every job of the app, each line prefixed")->required();
  cmds->logs->add_flag("-f,--follow", cmds->log_follow, "keep printing what is appended");
  cmds->logs->add_flag("--router", cmds->log_router,
                       "JOB is TENANT/ENV/APP: its requests in its environment's proxies' access logs (with request ids)");
  cmds->logs->add_option("--tail-bytes", cmds->log_tail_bytes, "how much of the end to show first");
  cmds->logs->add_flag("--raw", cmds->log_raw,
                       "the bytes as logged, even on a terminal (there escape sequences and control bytes are removed)");
  cmds->logs->add_flag("--safe", cmds->log_safe,
                       "remove escape sequences and control bytes even when not on a terminal (gitrecv's app commands)")
      ->excludes("--raw");
  cmds->logs->add_option("--data-dir", cmds->log_data_dir, "read the log from this host data dir here instead of through sauron");

  cmds->proxy_ensure = app.add_subcommand("proxy-ensure", "(or proxy:ensure) submit the environment's proxy jobs unless they exist (docs/PROXY.md)");
  cmds->proxy_ensure->add_option("TENANT/ENV", cmds->proxy_env, "the environment")->required();
  cmds->proxy_ensure->add_option("--image", cmds->proxy_image, "the proxy image (scripts/proxy-image)");

  cmds->stop = app.add_subcommand("stop", "stop jobs");
  cmds->stop->add_option("JOB", cmds->stop_ids, "job ids")->required();
}

int RunJobCommands(Client& c, const JobCommands& cmds, bool list_jobs) {
  if (cmds.jobs->parsed() || list_jobs) {
    auto l = c.List("jobs");
    if (!l.ok()) return Fail(l.status());
    Table t({"JOB", "SERVICE", "STATE", "HOST", "RUN STATE", "ATTEMPT", "REASON"});
    for (const auto& j : l->jobs) {
      std::string run = j.run_state.empty() ? "-" : j.run_state + (j.run_detail.empty() ? "" : " (" + j.run_detail + ")");
      t.Add({j.spec.id, Or(j.spec.service), j.state, Or(j.host_id), run, std::to_string(j.attempt), Or(j.reason)});
    }
    t.Print(std::cout);
    return 0;
  }
  if (cmds.logs->parsed()) return Logs(c, cmds);
  if (cmds.submit->parsed()) return Submit(c, cmds);
  if (cmds.proxy_ensure->parsed()) return ProxyEnsure(c, cmds);
  if (cmds.stop->parsed()) {
    if (Status s = c.Call(msg::StopJobs{cmds.stop_ids}); !s.ok()) return Fail(s);
    for (const auto& id : cmds.stop_ids) std::cout << "stopping " << id << "\n";
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
