#include "deploy/rollout_driver.h"

#include <algorithm>
#include <random>
#include <set>

#include "common/proxy_job.h"

namespace rv::deploy {
namespace {

std::string V(int64_t v) { return "v" + std::to_string(v); }

std::string Label(const AppJob& j) { return j.type + "." + V(j.release) + " #" + std::to_string(j.replica); }

// Marks the jobs whose events since `*seq` say they exited or failed.
void ReadCrashes(RolloutIo& io, int64_t* seq, std::set<std::string>* crashed) {
  auto ev = io.EventsAfter(*seq);
  if (!ev.ok()) return;
  for (const auto& e : *ev) {
    *seq = std::max(*seq, e.seq);
    if (e.kind == "job.state" && (e.detail.rfind("exited", 0) == 0 || e.detail.rfind("failed", 0) == 0)) {
      crashed->insert(e.job_id);
    }
  }
}

}  // namespace

std::string Nonce() {
  static const char* kHex = "0123456789abcdef";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 6; ++i) s += kHex[rd() % 16];
  return s;
}

const msg::JobRecord* FindJob(const std::vector<msg::JobRecord>& jobs, const std::string& id) {
  for (const auto& j : jobs) {
    if (j.spec.id == id) return &j;
  }
  return nullptr;
}

std::vector<std::string> CommandFor(const std::string& command) {
  // Images from the builder carry /app/.rv/launch (buildpacks/bin/launch:
  // sources .profile.d, then runs its one argument, a Procfile line); a bare
  // stack image does not.
  return {"/bin/sh", "-c",
          "if [ -f /app/.rv/launch ]; then exec /bin/sh /app/.rv/launch \"$1\"; fi; exec /bin/sh -c \"$1\"",
          "rv-launch", command};
}

msg::JobSpec JobFor(const msg::ReleaseRecord& r, const std::string& type, int32_t replica, const RolloutOptions& o,
                    const std::string& nonce) {
  msg::JobSpec j;
  std::string dotted = r.app;
  std::replace(dotted.begin(), dotted.end(), '/', '.');
  j.id = dotted + "." + type + "." + V(r.version) + "." + std::to_string(replica) + "." + nonce;
  j.kind = "deploy";
  auto slash = r.app.find('/');
  j.tenant = r.app.substr(0, slash);
  j.app = r.app.substr(r.app.rfind('/') + 1);
  j.env = r.app.substr(0, r.app.rfind('/'));
  j.service = ServiceName(r.app, type, r.version);
  j.replica = replica;
  j.resources = o.resources;
  j.image = r.image;
  auto cmd = r.process_types.find(type);
  if (cmd != r.process_types.end()) j.command = CommandFor(cmd->second);
  j.config = {{"RV_RELEASE", V(r.version)}, {"RV_PROCESS_TYPE", type}};
  if (type == "web") {
    j.port = o.web_port;  // PORT in the container; the health check probes it
    j.rules.ha = true;
    j.health.interval_ms = 1000;
    j.health.timeout_ms = 500;
  }
  j.restart = type == "release" ? "never" : "on-failure";
  return j;
}

std::vector<AppJob> AppJobsOf(const std::string& app, const std::vector<msg::JobRecord>& jobs) {
  std::vector<AppJob> out;
  for (const auto& j : jobs) {
    if (j.state == "stopped") continue;
    auto p = ParseServiceName(app, j.spec.service);
    if (!p || p->type == "release" || p->type == "run") continue;  // one-offs: RunReleasePhase, one_off.h
    out.push_back(AppJob{j.spec.id, p->type, p->release, j.spec.replica, j.state, j.run_state, false});
  }
  return out;
}

std::vector<msg::JobSpec> MissingProxyJobs(const std::string& env, const std::vector<msg::JobRecord>& jobs,
                                           const std::string& image) {
  std::vector<msg::JobSpec> out;
  auto want = ProxyJobsFor(env, image);
  if (!want.ok()) return out;
  std::set<std::string> live;
  for (const auto& j : jobs) {
    if (j.state != "stopped") live.insert(j.spec.id);
  }
  for (auto& j : *want) {
    if (!live.count(j.id)) out.push_back(std::move(j));
  }
  return out;
}

RolloutOutcome RunRollout(RolloutIo& io, const msg::ReleaseRecord& target, int64_t current,
                          const std::map<std::string, int32_t>& formation, const RolloutOptions& o,
                          const Progress& progress) {
  RolloutOutcome out;
  auto seq = io.LastEventSeq();
  if (!seq.ok()) {
    out.why = seq.status().message();
    return out;
  }
  int64_t event_seq = *seq;
  std::set<std::string> crashed;
  std::map<std::string, std::string> seen;  // job id -> what was last said of it
  const int64_t started = io.NowMs();
  // Bounded whatever sauron answers: the boot timeout plus time to stop.
  const int64_t give_up = started + o.boot_timeout_ms + 30000;
  bool said_start = false, said_cut = false, said_stale = false;
  bool relist_now = false;  // once, after the cut-over's stop: the push ends without another poll
  // sauron not answering (a restart) is waited out within the same bound: the
  // next turn re-plans from what sauron lists, so a retried submit or stop is
  // harmless, and giving up at once would leave the new replicas running beside
  // the old ones with no one to finish the cut-over or stop them.
  bool said_outage = false;
  bool proxies_checked = false;
  auto wait_out = [&](const Status& s) {
    if (s.code() != Status::Code::kUnavailable || io.NowMs() > give_up) return false;
    if (!said_outage) progress("-----> sauron does not answer (" + s.message() + "); still trying");
    said_outage = true;
    io.SleepMs(o.poll_ms);
    return true;
  };
  while (true) {
    auto all = io.Jobs();
    if (!all.ok()) {
      if (wait_out(all.status())) continue;
      out.why = "cannot list jobs: " + all.status().message();
      return out;
    }
    if (said_outage) progress("-----> sauron answers again");
    said_outage = false;
    if (!proxies_checked && !o.proxy_image.empty()) {
      proxies_checked = true;
      auto web = formation.find("web");
      if (web != formation.end() && web->second > 0 && target.process_types.count("web")) {
        std::string env = target.app.substr(0, target.app.rfind('/'));
        auto missing = MissingProxyJobs(env, *all, o.proxy_image);
        if (!missing.empty()) {
          // The app is reachable once its env's proxy runs; a failure here is said, not fatal.
          Status ps = io.Submit(missing);
          progress(ps.ok() ? "-----> Starting " + env + "'s proxy (" + std::to_string(missing.size()) + " replicas)"
                           : "-----> Could not start " + env + "'s proxy: " + ps.message());
        }
      }
    }
    ReadCrashes(io, &event_seq, &crashed);
    RolloutInput in;
    in.target = target.version;
    in.current = current;
    in.formation = formation;
    in.process_types = target.process_types;
    in.jobs = AppJobsOf(target.app, *all);
    for (auto& j : in.jobs) j.crashed = crashed.count(j.id) > 0;
    in.now_ms = io.NowMs();
    in.started_ms = started;
    in.boot_timeout_ms = o.boot_timeout_ms;

    // What changed since the last turn: which host won a replica, its health.
    std::map<std::string, const msg::JobRecord*> by_id;
    for (const auto& r : *all) by_id[r.spec.id] = &r;
    for (const auto& j : in.jobs) {
      const msg::JobRecord* r = by_id[j.id];
      std::string now = r->host_id + "|" + r->run_state + "|" + r->run_detail;
      if (seen[j.id] == now) continue;
      std::string before = seen[j.id];
      seen[j.id] = now;
      if (j.release != target.version) continue;
      if (!r->host_id.empty() && before.rfind(r->host_id + "|", 0) != 0) progress("       " + Label(j) + " won by " + r->host_id);
      if (!r->run_state.empty()) {
        progress("       " + Label(j) + " on " + r->host_id + ": " + r->run_state +
                 (r->run_detail.empty() ? "" : " (" + r->run_detail + ")"));
      }
    }

    RolloutPlan plan = DecideRollout(in);
    if (plan.failed) {
      progress("-----> " + plan.why + "; rolling back");
      if (!plan.stop.empty()) {
        if (Status s = io.Stop(plan.stop); !s.ok()) progress("       could not stop them: " + s.message());
      }
      out.why = plan.why;
      return out;
    }
    if (!plan.start.empty()) {
      if (!said_start) {
        int n = static_cast<int>(plan.start.size());
        progress("-----> Starting " + std::to_string(n) + " replica" + (n == 1 ? "" : "s") + " of " + V(target.version));
        said_start = true;
      }
      std::vector<msg::JobSpec> specs;
      for (const auto& s : plan.start) specs.push_back(JobFor(target, s.type, s.replica, o, Nonce()));
      if (Status s = io.Submit(std::move(specs)); !s.ok()) {
        if (wait_out(s)) continue;
        out.why = "cannot submit the replicas of " + V(target.version) + ": " + s.message();
        // Whatever was submitted of it goes too.
        std::vector<std::string> mine;
        for (const auto& j : in.jobs) {
          if (j.release == target.version) mine.push_back(j.id);
        }
        if (!mine.empty()) (void)io.Stop(mine);
        return out;
      }
    }
    if (!plan.stop.empty()) {
      std::set<int64_t> stale;
      for (const auto& j : in.jobs) {
        if (j.release != target.version && j.release != current) stale.insert(j.release);
      }
      if (!stale.empty() && !said_stale) {
        std::string names;
        for (int64_t v : stale) names += (names.empty() ? "" : ", ") + V(v);
        progress("-----> Stopping the replicas of " + names + " (an interrupted rollout)");
        said_stale = true;
      }
      if (plan.cut_over && !said_cut) {
        std::set<int64_t> olds;
        for (const auto& j : in.jobs) {
          if (j.release == current && current != target.version) olds.insert(j.release);
        }
        std::string names;
        for (int64_t v : olds) names += (names.empty() ? "" : ", ") + V(v);
        progress("-----> " + V(target.version) + " is healthy; stopping " + names);
        said_cut = true;
        relist_now = true;
      }
      if (Status s = io.Stop(plan.stop); !s.ok()) {
        if (wait_out(s)) continue;
        out.why = "cannot stop replicas: " + s.message();
        return out;
      }
    }
    if (plan.done) {
      for (const auto& r : *all) {
        if (r.state == "stopped") continue;
        auto p = ParseServiceName(target.app, r.spec.service);
        if (p && p->release == target.version) out.running.push_back(r);
      }
      out.ok = true;
      return out;
    }
    if (io.NowMs() > give_up) {
      out.why = "the rollout of " + V(target.version) + " did not settle";
      return out;
    }
    if (relist_now) {
      relist_now = false;
      continue;
    }
    io.SleepMs(o.poll_ms);
  }
}

}  // namespace rv::deploy
