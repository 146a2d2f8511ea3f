#include "cli/release_cmds.h"

#include <ctime>
#include <iostream>
#include <sstream>

#include "cli/output.h"
#include "cli/table.h"
#include "deploy/app_lock.h"
#include "deploy/rollout_driver.h"
#include "deploy/sauron_io.h"

namespace rv::cli {
namespace {

void Say(const std::string& line) { std::cout << line << "\n" << std::flush; }

std::string Formation(const std::map<std::string, int32_t>& f) {
  std::string out;
  for (const auto& [t, n] : f) out += (out.empty() ? "" : " ") + t + "=" + std::to_string(n);
  return out.empty() ? "-" : out;
}

std::string User() {
  const char* u = getenv("USER");
  return u && *u ? u : "admin";
}

// Rolls `rel` out with the app's formation, records the outcome and says it.
int RollOut(Client& c, const msg::ReleaseRecord& rel, int64_t current, const std::map<std::string, int32_t>& formation,
            const ReleaseCommands* opts, bool record) {
  deploy::SauronIo io(c);
  deploy::RolloutOptions o;
  if (opts) {
    o.boot_timeout_ms = int64_t{opts->boot_timeout_s} * 1000;
    o.web_port = opts->port;
  }
  o.web_port = deploy::WebPort(c, rel.app, o.web_port);
  auto out = deploy::RunRollout(io, rel, current, formation, o, Say);
  if (!out.ok) {
    if (record) (void)c.Call(msg::ReleaseState{rel.app, rel.version, "failed", out.why});
    Say("-----> Failed: v" + std::to_string(rel.version) + ": " + out.why);
    return 1;
  }
  if (record) {
    if (Status s = c.Call(msg::ReleaseState{rel.app, rel.version, "deployed", ""}); !s.ok()) return Fail(s);
  }
  Say("-----> Released v" + std::to_string(rel.version));
  Say(deploy::WhereItAnswers(c, rel.app, out.running));
  return 0;
}

}  // namespace

std::string FormatReleases(const msg::ReleaseList& l) {
  Table t({"", "RELEASE", "STATE", "IMAGE", "CONFIG", "FORMATION", "COMMIT", "BY", "CREATED", "DESCRIPTION"});
  for (const auto& r : l.releases) {
    std::string image = r.digest.empty() ? r.image : r.digest.substr(0, 19);
    t.Add({r.version == l.current ? "*" : "", "v" + std::to_string(r.version), r.state, Or(image),
           std::to_string(r.config_version), Formation(r.formation), Or(r.commit.substr(0, 7)), Or(r.user),
           DateTime(r.created_ms), Or(r.description) + (r.detail.empty() ? "" : " (" + r.detail + ")")});
  }
  std::ostringstream os;
  t.Print(os);
  return os.str();
}

Result<std::map<std::string, int32_t>> ParseCounts(const std::vector<std::string>& items) {
  std::map<std::string, int32_t> out;
  for (const auto& s : items) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return Status::Invalid("'" + s + "' is not TYPE=N");
    int32_t n = 0;
    for (size_t i = eq + 1; i < s.size(); ++i) {
      bool digit = s[i] >= '0' && s[i] <= '9';
      if (digit) n = n * 10 + (s[i] - '0');
      if (!digit || n > 1000000) return Status::Invalid("'" + s + "': N must be a whole number from 0 to 1000000");
    }
    out[s.substr(0, eq)] = n;
  }
  return out;
}

void AddReleaseCommands(CLI::App& app, ReleaseCommands* c) {
  c->releases = app.add_subcommand("releases", "an app's releases, newest first (* = current)");
  c->releases->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->rollback = app.add_subcommand("rollback", "release an earlier release's image again (no build)");
  c->rollback->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->rollback->add_option("VERSION", c->version, "vN (default: the release before the current one)");
  c->restart = app.add_subcommand("restart", "(or ps:restart) replace every replica of the current release (no build)");
  c->restart->alias("ps-restart");
  c->restart->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->scale = app.add_subcommand("ps-scale", "(or ps:scale) set how many replicas of each process type run");
  c->scale->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->scale->add_option("TYPE=N", c->counts, "e.g. web=3 worker=1")->required();
  c->ps = app.add_subcommand("ps", "an app's replicas and their release (without APP: every job)");
  c->ps->add_option("APP", c->app, "TENANT/ENV/APP");
  c->builds = app.add_subcommand("builds", "an app's builds, newest first");
  c->builds->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->output = app.add_subcommand("builds-output", "(or builds:output) a build's whole output");
  c->output->add_option("APP", c->app, "TENANT/ENV/APP")->required();
  c->output->add_option("N", c->version, "build number")->required();
  for (CLI::App* a : {c->rollback, c->restart, c->scale}) {
    a->add_option("--boot-timeout-s", c->boot_timeout_s, "roll back when not healthy within this")->check(CLI::Range(1, 3600));
    a->add_option("--port", c->port, "PORT of web processes")->check(CLI::Range(1, 65535));
  }
}

int RunReleaseCommands(Client& c, const ReleaseCommands& cmd) {
  if (cmd.releases->parsed()) {
    msg::ReleaseList l;
    if (Status s = c.Call(msg::ReleasesRequest{cmd.app, 100}, &l); !s.ok()) return Fail(s);
    if (l.releases.empty()) {
      std::cout << cmd.app << " has no releases\n";
      return 0;
    }
    std::cout << FormatReleases(l);
    return 0;
  }
  if (cmd.builds->parsed()) {
    msg::BuildList l;
    if (Status s = c.Call(msg::BuildsRequest{cmd.app, 100}, &l); !s.ok()) return Fail(s);
    Table t({"BUILD", "STATE", "COMMIT", "BY", "STARTED", "SECONDS", "OUTPUT", "IMAGE / ERROR"});
    for (const auto& b : l.builds) {
      std::string secs = b.finished_ms > 0 ? std::to_string((b.finished_ms - b.started_ms) / 1000) : "-";
      t.Add({std::to_string(b.number), b.state, Or(b.commit.substr(0, 7)), Or(b.user), DateTime(b.started_ms), secs,
             std::to_string(b.output_bytes) + " B", Or(b.state == "failed" ? b.error : b.image)});
    }
    t.Print(std::cout);
    return 0;
  }
  if (cmd.output->parsed()) {
    int64_t n = 0;
    try {
      n = std::stoll(cmd.version);
    } catch (...) {
      return Fail(Status::Invalid("build number '" + cmd.version + "' is not a number"));
    }
    int64_t off = 0;
    for (int pages = 0; pages < 10000; ++pages) {  // bounded: 16 MiB at most per build
      msg::BuildOutput o;
      if (Status s = c.Call(msg::BuildOutputRequest{cmd.app, n, off, 1 << 20}, &o); !s.ok()) return Fail(s);
      std::cout << o.text;
      if (o.text.empty() || o.next_offset >= o.build.output_bytes) break;
      off = o.next_offset;
    }
    std::cout << std::flush;
    return 0;
  }
  if (cmd.ps->parsed() && !cmd.app.empty()) {
    auto l = c.List("jobs");
    if (!l.ok()) return Fail(l.status());
    Table t({"JOB", "TYPE", "RELEASE", "REPLICA", "STATE", "HOST", "RUN STATE"});
    for (const auto& j : l->jobs) {
      if (j.state == "stopped") continue;
      auto p = deploy::ParseServiceName(cmd.app, j.spec.service);
      if (!p) continue;
      std::string run = j.run_state.empty() ? "-" : j.run_state + (j.run_detail.empty() ? "" : " (" + j.run_detail + ")");
      t.Add({j.spec.id, p->type, "v" + std::to_string(p->release), std::to_string(j.spec.replica), j.state,
             Or(j.host_id), run});
    }
    t.Print(std::cout);
    return 0;
  }
  if (cmd.rollback->parsed() || cmd.restart->parsed()) {
    // A restart is a release of the current one's image, as a rollback is of
    // an earlier one's: replicas roll by release (a new one may share hosts
    // with the old, which an HA service's own replicas may not).
    const bool restart = cmd.restart->parsed();
    deploy::AppLock lock;
    if (Status s = lock.Take(c.config().pod_dir, cmd.app, 15 * 60 * 1000, Say); !s.ok()) return Fail(s);
    msg::ReleaseList l;
    if (Status s = c.Call(msg::ReleasesRequest{cmd.app, 1000}, &l); !s.ok()) return Fail(s);
    int64_t to = 0;
    if (restart) {
      for (const auto& r : l.releases) {
        if (r.version == l.current && r.state == "deployed" && !r.image.empty()) to = r.version;
      }
      if (to == 0) return Fail(Status::NotFound(cmd.app + " has no deployed release to restart (git push it first)"));
    } else if (!cmd.version.empty()) {
      std::string v = cmd.version[0] == 'v' ? cmd.version.substr(1) : cmd.version;
      try {
        to = std::stoll(v);
      } catch (...) {
        return Fail(Status::Invalid("'" + cmd.version + "' is not a release (vN)"));
      }
    } else {
      // The deployed release before the current one.
      for (const auto& r : l.releases) {
        if (r.version < l.current && r.state == "deployed" && r.image != "") {
          to = r.version;
          break;
        }
      }
      if (to == 0) return Fail(Status::NotFound(cmd.app + " has no earlier deployed release to roll back to"));
    }
    msg::ReleaseCreate rc;
    rc.app = cmd.app;
    rc.from_version = to;
    rc.user = User();
    rc.description = restart ? "restart of v" + std::to_string(to) : "rollback to v" + std::to_string(to);
    msg::ReleaseRecord rel;
    if (Status s = c.Call(rc, &rel); !s.ok()) return Fail(s);
    Say("-----> " + std::string(restart ? "Restarting " : "Rolling back ") + cmd.app + (restart ? ": v" : " to v") +
        std::to_string(to) + " as v" + std::to_string(rel.version));
    return RollOut(c, rel, l.current, rel.formation, &cmd, true);
  }
  if (cmd.scale->parsed()) {
    auto counts = ParseCounts(cmd.counts);
    if (!counts.ok()) return Fail(counts.status());
    deploy::AppLock lock;
    if (Status s = lock.Take(c.config().pod_dir, cmd.app, 15 * 60 * 1000, Say); !s.ok()) return Fail(s);
    msg::ReleaseList l;
    if (Status s = c.Call(msg::FormationSet{cmd.app, *counts}, &l); !s.ok()) return Fail(s);
    Say("-----> " + cmd.app + " formation: " + Formation(l.formation));
    if (l.current == 0) {
      Say("       no release runs yet: the next deploy starts this many");
      return 0;
    }
    msg::ReleaseList cur;
    if (Status s = c.Call(msg::ReleasesRequest{cmd.app, 1000}, &cur); !s.ok()) return Fail(s);
    for (const auto& r : cur.releases) {
      if (r.version == l.current) {
        // A formation change is no new release: the running one scales.
        deploy::SauronIo io(c);
        deploy::RolloutOptions o;
        o.boot_timeout_ms = int64_t{cmd.boot_timeout_s} * 1000;
        o.web_port = deploy::WebPort(c, r.app, cmd.port);
        auto out = deploy::RunRollout(io, r, r.version, l.formation, o, Say);
        if (!out.ok) {
          Say("-----> Failed: " + out.why);
          return 1;
        }
        Say("-----> Scaled v" + std::to_string(r.version) + " to " + Formation(l.formation));
        Say(deploy::WhereItAnswers(c, r.app, out.running));
        return 0;
      }
    }
    return Fail(Status::Internal("current release v" + std::to_string(l.current) + " not found"));
  }
  return -1;
}

int RollOutConfigReleases(Client& c, const std::string& env) {
  msg::ReleaseList l;
  if (Status s = c.Call(msg::EnvReleasesRequest{env}, &l); !s.ok()) return Fail(s);
  int rc = 0;
  for (const auto& r : l.releases) {
    if (r.state != "created" || r.description.rfind("config ", 0) != 0) continue;
    deploy::AppLock lock;
    if (Status s = lock.Take(c.config().pod_dir, r.app, 15 * 60 * 1000, Say); !s.ok()) return Fail(s);
    msg::ReleaseList now;
    if (Status s = c.Call(msg::ReleasesRequest{r.app, 1}, &now); !s.ok()) return Fail(s);
    Say("-----> " + r.app + ": v" + std::to_string(r.version) + " (" + r.description + ")");
    if (RollOut(c, r, now.current, r.formation, nullptr, true) != 0) rc = 1;
  }
  return rc;
}

}  // namespace rv::cli
