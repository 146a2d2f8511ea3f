// rv: the Rivendell operator CLI. Talks to sauron as user "admin".
//
//   rv [--pod pod.json] hosts | hosts enroll ID --key FILE [--label k=v]... [--max-ram-mb N]
//      hosts drain ID [--undo] | jobs (ps) | submit --service S [...] -- COMMAND...
//      submit --service S --image REF [--port N --health-http PATH]
//      stop JOB... | events [-f] | logs [-f] JOB | counters | keygen FILE
//      config ENV | config:set ENV KEY=VALUE... [--secret] | config:unset ENV KEY...
//      users[:add] | keys[:add|:remove] | apps[:create|:destroy] | access:grant|revoke
//      (cli/account_cmds.h)
//      releases APP | rollback APP [vN] | ps:scale APP TYPE=N... | ps APP | builds APP
//      builds:output APP N      (cli/release_cmds.h)
//
// The pod config defaults to $RV_POD, else ./pod/pod.json. Exit status: 0 ok,
// 1 the operation failed, 2 bad usage.
#include <signal.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fstream>
#include <iostream>

#include "cli/client.h"
#include "common/crypto/sealed_box.h"
#include "common/msg/env_config.h"
#include "common/msg/topics.h"
#include "common/resources.h"
#include "cli/account_cmds.h"
#include "cli/env_cmds.h"
#include "common/names.h"
#include "cli/release_cmds.h"
#include "cli/table.h"
#include "common/clock.h"
#include "common/host_layout.h"
#include "common/transport/curve.h"
#include "strider/container/container_runtime.h"
#include "strider/container/log_follow.h"

namespace {

using rv::Status;
using rv::cli::Client;
using rv::cli::Table;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int Fail(const Status& s) {
  std::cerr << "rv: " << s.message() << "\n";
  return 1;
}

std::string Labels(const std::map<std::string, std::string>& l) {
  std::string out;
  for (const auto& [k, v] : l) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "-" : out;
}

std::string Ago(int64_t ms) {
  if (ms <= 0) return "never";
  int64_t d = rv::WallMs() - ms;
  if (d < 0) d = 0;
  if (d < 10000) return std::to_string(d) + "ms ago";
  return std::to_string(d / 1000) + "s ago";
}

std::string Time(int64_t ms) {
  time_t t = ms / 1000;
  char buf[32];
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  char out[48];
  snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(ms % 1000));
  return out;
}

// Same file name rule as the strider's ProcessWorkload.
std::string Or(const std::string& s) { return s.empty() ? "-" : s; }

void PrintEvent(const rv::msg::Event& e) {
  std::cout << e.seq << "  " << Time(e.ts_ms) << "  " << e.kind;
  if (!e.host_id.empty()) std::cout << "  host=" << e.host_id;
  if (!e.job_id.empty()) std::cout << "  job=" << e.job_id << "#" << e.attempt;
  if (!e.detail.empty()) std::cout << "  " << e.detail;
  std::cout << "\n" << std::flush;
}

rv::Result<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& items, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& s : items) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Invalid(std::string(what) + " '" + s + "' is not key=value");
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
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

  auto* hosts = app.add_subcommand("hosts", "list hosts; enroll or drain one");
  auto* enroll = hosts->add_subcommand("enroll", "allow a host's key to join the pod");
  std::string h_id, h_key;
  std::vector<std::string> h_labels;
  int64_t h_max_ram = 0;
  enroll->add_option("ID", h_id, "host id")->required();
  enroll->add_option("--key", h_key, "the host's public key file (.pub or key file)")->required();
  enroll->add_option("--label", h_labels, "label k=v (repeatable)");
  enroll->add_option("--max-ram-mb", h_max_ram, "ceiling on the RAM the host may claim");
  auto* drain = hosts->add_subcommand("drain", "give a host nothing new");
  bool undrain = false;
  drain->add_option("ID", h_id, "host id")->required();
  drain->add_flag("--undo", undrain, "make it schedulable again");

  auto* jobs = app.add_subcommand("jobs", "list jobs and where they run");

  auto* submit = app.add_subcommand("submit", "submit the replicas of a service");
  std::string s_service, s_strategy, s_kind = "deploy", s_restart = "on-failure";
  int s_replicas = 1;
  int64_t s_ram = 64, s_disk = 64, s_cpu = 100;
  bool s_ha = false, s_spread = false;
  std::vector<std::string> s_constraints, s_command;
  submit->add_option("--service", s_service, "service name; replicas are <service>-1..N")->required();
  submit->add_option("--replicas", s_replicas, "number of replicas")->check(CLI::Range(1, 10000));
  submit->add_option("--ram-mb", s_ram, "RAM per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  submit->add_option("--disk-mb", s_disk, "disk per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  submit->add_option("--cpu-millis", s_cpu, "CPU per replica")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  submit->add_flag("--ha", s_ha, "replicas never share a host");
  submit->add_flag("--spread-zones", s_spread, "spread replicas over zones");
  submit->add_option("--constraint", s_constraints, "host label k=v the job needs (repeatable)");
  submit->add_option("--strategy", s_strategy, "binpack | spread")->check(CLI::IsMember({"", "binpack", "spread"}));
  submit->add_option("--kind", s_kind, "deploy | build")->check(CLI::IsMember({"deploy", "build"}));
  submit->add_option("--restart", s_restart, "always | on-failure | never")
      ->check(CLI::IsMember({"always", "on-failure", "never"}));
  std::string s_image, s_health_http;
  int s_port = 0;
  submit->add_option("--image", s_image, "run this image (registry reference) as a container");
  submit->add_option("--port", s_port, "the app's listening port (health-checked)")->check(CLI::Range(0, 65535));
  submit->add_option("--health-http", s_health_http, "HTTP path that must answer 2xx/3xx (needs --port)");
  std::string s_env;
  submit->add_option("--env", s_env, "the environment (its config vars and secrets are set with config:set)");
  submit->add_option("command", s_command, "the command to run (after --); with --image, overrides the entrypoint");

  // Reads the log file on this machine: works when the job's host is local
  // (the demo pod, tests), not for a remote host.
  auto* logs = app.add_subcommand("logs", "print a job's log (local hosts only)");
  std::string l_job, l_data_dir;
  bool l_follow = false;
  int64_t l_tail = 64 * 1024;
  logs->add_option("JOB", l_job, "job id")->required();
  logs->add_flag("-f,--follow", l_follow, "keep printing what is appended");
  logs->add_option("--tail-bytes", l_tail, "how much of the end to show first");
  logs->add_option("--data-dir", l_data_dir, "the host's data dir (default <pod_dir>/hosts/<host>)");

  auto* stop = app.add_subcommand("stop", "stop jobs");
  std::vector<std::string> stop_ids;
  stop->add_option("JOB", stop_ids, "job ids")->required();

  auto* events = app.add_subcommand("events", "the pod's event log");
  bool follow = false;
  int ev_limit = 50, ev_count = 0, ev_wait_ms = 0;
  events->add_flag("-f,--follow", follow, "keep printing new events");
  events->add_option("--limit", ev_limit, "how many recent events to show first");
  events->add_option("--count", ev_count, "with -f: exit after this many new events");
  events->add_option("--wait-ms", ev_wait_ms, "with -f: exit after this long");

  app.add_subcommand("counters", "sauron's counters (rejected messages, refusals, ...)");

  // Heroku-style environment config. Values travel over the CURVE connection
  // and are stored encrypted; `config` shows secrets masked.
  auto* config = app.add_subcommand("config", "list an environment's config vars (secrets masked)");
  std::string cf_env;
  config->add_option("ENV", cf_env, "environment")->required();
  auto* config_set = app.add_subcommand("config-set", "(or config:set) set config vars of an environment");
  std::vector<std::string> cf_pairs;
  bool cf_secret = false;
  config_set->add_option("ENV", cf_env, "environment")->required();
  config_set->add_option("KEY=VALUE", cf_pairs, "vars to set")->required();
  config_set->add_flag("--secret", cf_secret, "never show the values again; masked in `rv config`");
  auto* config_unset = app.add_subcommand("config-unset", "(or config:unset) remove config vars of an environment");
  std::vector<std::string> cf_names;
  config_unset->add_option("ENV", cf_env, "environment")->required();
  config_unset->add_option("KEY", cf_names, "names to remove")->required();

  auto* keygen = app.add_subcommand("keygen", "write a new CURVE key pair (FILE and FILE.pub)");
  std::string kg_file;
  bool kg_force = false;
  keygen->add_option("FILE", kg_file, "key file to write")->required();
  keygen->add_flag("--force", kg_force, "overwrite an existing key");

  // Heroku spells them config:set, env:rotate-key...; CLI11 names cannot hold
  // ':', so the subcommand (only it, never a value) is rewritten with '-'.
  rv::cli::EnvCommands env_cmds;
  rv::cli::AddEnvCommands(app, &env_cmds);
  rv::cli::AccountCommands account_cmds;
  rv::cli::AddAccountCommands(app, &account_cmds);
  rv::cli::ReleaseCommands rel_cmds;
  rv::cli::AddReleaseCommands(app, &rel_cmds);
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].empty() || args[i][0] != '-') {  // the subcommand comes first
      if (auto colon = args[i].find(':'); colon != std::string::npos) args[i][colon] = '-';
      break;
    }
    if (args[i] == "--pod" || args[i] == "--timeout-ms") ++i;  // options that take a value
  }
  std::vector<char*> argv2;
  for (auto& a : args) argv2.push_back(a.data());
  argv2.push_back(nullptr);
  argv = argv2.data();

  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  if (keygen->parsed()) {
    if (!kg_force && access(kg_file.c_str(), F_OK) == 0) {
      return Fail(Status::Conflict(kg_file + " exists (use --force to replace it)"));
    }
    auto kp = rv::transport::GenerateKeypair();
    if (Status s = rv::transport::SaveKeypair(kg_file, kp); !s.ok()) return Fail(s);
    std::cout << kp.public_key << "\n";
    return 0;
  }

  // Environment names are paths elsewhere: refuse "../../x" before sending.
  if (!cf_env.empty() || !s_env.empty()) {
    if (Status s = rv::names::ValidateEnvRef(cf_env.empty() ? s_env : cf_env); !s.ok()) return Fail(s);
  }
  auto client = Client::Open(pod, timeout_ms);
  if (!client.ok()) return Fail(client.status());
  Client& c = **client;
  if (int rc = rv::cli::RunEnvCommands(c, env_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunAccountCommands(c, account_cmds); rc >= 0) return rc;
  if (int rc = rv::cli::RunReleaseCommands(c, rel_cmds); rc >= 0) return rc;

  if (enroll->parsed()) {
    auto key = rv::transport::LoadPublicKey(h_key);
    if (!key.ok()) return Fail(key.status());
    auto labels = ParsePairs(h_labels, "label");
    if (!labels.ok()) return Fail(labels.status());
    rv::msg::EnrollHost req;
    req.host_id = h_id;
    req.public_key = *key;
    req.labels = *labels;
    req.max_capacity.ram_mb = h_max_ram;
    if (Status s = c.Call(req); !s.ok()) return Fail(s);
    std::cout << "enrolled " << h_id << " (key " << rv::transport::KeyFingerprint(*key) << ")\n";
    return 0;
  }
  if (drain->parsed()) {
    if (Status s = c.Call(rv::msg::DrainHost{h_id, !undrain}); !s.ok()) return Fail(s);
    std::cout << (undrain ? "undrained " : "drained ") << h_id << "\n";
    return 0;
  }
  if (hosts->parsed()) {
    auto l = c.List("hosts");
    if (!l.ok()) return Fail(l.status());
    Table t({"HOST", "STATE", "ADDRESS", "LABELS", "CAPACITY", "FREE", "DRAINED", "LAST SEEN"});
    for (const auto& h : l->hosts) {
      t.Add({h.id, h.state, Or(h.address), Labels(h.labels), rv::DescribeShort(h.capacity), rv::DescribeShort(h.free), h.drained ? "yes" : "no",
             Ago(h.last_seen_ms)});
    }
    t.Print(std::cout);
    return 0;
  }
  if (jobs->parsed() || rel_cmds.PsOfAllJobs()) {
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
  if (logs->parsed()) {
    auto l = c.List("jobs");
    if (!l.ok()) return Fail(l.status());
    const rv::msg::JobSpec* spec = nullptr;
    std::string host;
    for (const auto& j : l->jobs) {
      if (j.spec.id == l_job) {
        spec = &j.spec;
        host = j.host_id;
      }
    }
    if (!spec) return Fail(Status::NotFound("no job " + l_job));
    if (host.empty() && l_data_dir.empty()) return Fail(Status::NotFound(l_job + " is not placed on a host"));
    namespace layout = rv::host_layout;
    std::string dir = l_data_dir.empty() ? layout::DefaultDataDir(c.config().pod_dir, host) : l_data_dir;
    std::string path =
        spec->image.empty()
            ? layout::ProcessLogPath(dir, l_job)
            : layout::ConsoleLogPath(layout::ContainerDir(layout::ContainerStateDir(dir), rv::container::ContainerIdFor(l_job)));
    if (access(path.c_str(), R_OK) != 0) {
      return Fail(Status::NotFound("no log at " + path + " (rv logs reads local hosts only)"));
    }
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    if (!l_follow) {
      std::ifstream in(path, std::ios::binary);
      in.seekg(0, std::ios::end);
      int64_t size = in.tellg();
      in.seekg(std::max<int64_t>(0, size - std::max<int64_t>(0, l_tail)));
      std::cout << in.rdbuf() << std::flush;
      return 0;
    }
    Status s = rv::container::FollowLog(
        path, l_tail, [](const std::string& chunk) { std::cout << chunk << std::flush; }, [] { return g_stop.load(); });
    if (!s.ok()) return Fail(s);
    return 0;
  }
  if (submit->parsed()) {
    if (s_image.empty() && s_command.empty()) return Fail(Status::Invalid("submit needs --image or a command"));
    if (!s_health_http.empty() && s_port == 0) return Fail(Status::Invalid("--health-http needs --port"));
    auto constraints = ParsePairs(s_constraints, "constraint");
    if (!constraints.ok()) return Fail(constraints.status());
    rv::msg::SubmitJobs req;
    for (int n = 1; n <= s_replicas; ++n) {
      rv::msg::JobSpec j;
      j.id = s_service + "-" + std::to_string(n);
      j.kind = s_kind;
      j.service = s_service;
      j.replica = n;
      j.resources = {s_ram, s_disk, s_cpu};
      j.rules.ha = s_ha;
      j.rules.spread_zones = s_spread;
      j.rules.constraints = *constraints;
      j.strategy = s_strategy;
      j.command = s_command;
      j.restart = s_restart;
      j.image = s_image;
      j.port = s_port;
      j.health.http_path = s_health_http;
      j.env = s_env;
      req.jobs.push_back(std::move(j));
    }
    rv::msg::JobIds ids;
    if (Status s = c.Call(req, &ids); !s.ok()) return Fail(s);
    for (const auto& id : ids.ids) std::cout << id << "\n";
    return 0;
  }
  if (config_set->parsed()) {
    auto vars = ParsePairs(cf_pairs, "config var");
    if (!vars.ok()) return Fail(vars.status());
    rv::msg::ConfigSet req{cf_env, std::move(*vars), cf_secret};
    Status s = c.Call(req);
    for (auto& [k, v] : req.vars) rv::crypto::Wipe(v);
    if (!s.ok()) return Fail(s);
    std::string names;
    for (const auto& [k, v] : req.vars) names += (names.empty() ? "" : ", ") + k;
    std::cout << "set " << names << " on " << cf_env << (cf_secret ? " (secret)" : "")
              << "; new values reach containers when they next start\n";
    // Apps of the environment with a release get a new one (sauron made it): roll them out.
    return rv::cli::RollOutConfigReleases(c, cf_env);
  }
  if (config_unset->parsed()) {
    if (Status s = c.Call(rv::msg::ConfigUnset{cf_env, cf_names}); !s.ok()) return Fail(s);
    for (const auto& n : cf_names) std::cout << "unset " << n << " on " << cf_env << "\n";
    return rv::cli::RollOutConfigReleases(c, cf_env);
  }
  if (config->parsed()) {
    rv::msg::ConfigListing l;
    if (Status s = c.Call(rv::msg::ConfigListRequest{cf_env}, &l); !s.ok()) return Fail(s);
    if (l.vars.empty()) {
      std::cout << cf_env << " has no config vars\n";
      return 0;
    }
    Table t({"NAME", "VALUE", "SET"});
    for (const auto& v : l.vars) t.Add({v.name, v.secret ? "******** (secret)" : v.value, Time(v.updated_ms)});
    t.Print(std::cout);
    return 0;
  }
  if (stop->parsed()) {
    if (Status s = c.Call(rv::msg::StopJobs{stop_ids}); !s.ok()) return Fail(s);
    for (const auto& id : stop_ids) std::cout << "stopping " << id << "\n";
    return 0;
  }
  if (app.got_subcommand("counters")) {
    auto l = c.List("counters");
    if (!l.ok()) return Fail(l.status());
    Table t({"COUNTER", "VALUE"});
    for (const auto& [k, v] : l->counters) t.Add({k, std::to_string(v)});
    t.Print(std::cout);
    return 0;
  }
  if (events->parsed()) {
    // Subscribe first, so nothing falls between the listing and the stream.
    std::unique_ptr<zmq::socket_t> sub;
    if (follow) {
      sub = std::make_unique<zmq::socket_t>(c.context(), zmq::socket_type::sub);
      rv::transport::SetDefaults(*sub);
      rv::transport::MakeCurveClient(*sub, c.key(), c.sauron_key());
      sub->set(zmq::sockopt::subscribe, std::string(rv::msg::kPodTopicPrefix));
      sub->connect(c.config().sauron.pub);
    }
    auto l = c.List("events", ev_limit > 0 ? ev_limit : 1000000);
    if (!l.ok()) return Fail(l.status());
    int64_t last = 0;
    for (const auto& e : l->events) {
      if (ev_limit > 0) PrintEvent(e);  // --limit 0: only what happens from now on
      last = std::max(last, e.seq);
    }
    if (!follow) return 0;
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    int64_t end = ev_wait_ms > 0 ? rv::WallMs() + ev_wait_ms : INT64_MAX;
    int seen = 0;
    while (!g_stop && rv::WallMs() < end && (ev_count == 0 || seen < ev_count)) {
      zmq::pollitem_t item{sub->handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(200));
      } catch (const zmq::error_t&) {
        continue;
      }
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t topic, body;
      if (!sub->recv(topic, zmq::recv_flags::dontwait) || !topic.more()) continue;
      if (!sub->recv(body, zmq::recv_flags::dontwait)) continue;
      auto env = rv::msg::DecodeEnvelope(body.data(), body.size());
      rv::msg::Change ch;
      if (!env.ok() || !rv::msg::DecodeBody(*env, &ch).ok()) {
        std::cerr << "rv: skipped an undecodable change\n";
        continue;
      }
      if (ch.event.seq <= last) continue;  // already listed
      if (last > 0 && ch.event.seq > last + 1) {
        std::cerr << "rv: missed events " << last + 1 << ".." << ch.event.seq - 1 << "\n";
      }
      last = ch.event.seq;
      PrintEvent(ch.event);
      ++seen;
    }
    return 0;
  }
  return 2;
}
