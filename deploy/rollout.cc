#include "deploy/rollout.h"

#include <algorithm>
#include <set>

namespace rv::deploy {

std::string ServiceName(const std::string& app, const std::string& type, int64_t release) {
  return app + ":" + type + ".v" + std::to_string(release);
}

std::optional<ServiceParts> ParseServiceName(const std::string& app, const std::string& service) {
  if (service.size() <= app.size() + 1 || service.compare(0, app.size(), app) != 0 || service[app.size()] != ':') {
    return std::nullopt;
  }
  std::string rest = service.substr(app.size() + 1);
  auto dot = rest.rfind(".v");
  if (dot == std::string::npos || dot == 0 || dot + 2 >= rest.size()) return std::nullopt;
  ServiceParts p;
  p.type = rest.substr(0, dot);
  int64_t v = 0;
  for (size_t i = dot + 2; i < rest.size(); ++i) {
    if (rest[i] < '0' || rest[i] > '9' || v > (int64_t{1} << 50)) return std::nullopt;
    v = v * 10 + (rest[i] - '0');
  }
  if (v <= 0) return std::nullopt;
  p.release = v;
  return p;
}

namespace {

// The rules for the target and the current release's jobs only.
RolloutPlan DecideTargetAndCurrent(const RolloutInput& in) {
  RolloutPlan plan;
  std::map<std::string, std::vector<const AppJob*>> fresh;  // type -> the target's jobs
  std::vector<const AppJob*> old;
  for (const auto& j : in.jobs) {
    if (j.release == in.target) {
      fresh[j.type].push_back(&j);
    } else {
      old.push_back(&j);
    }
  }
  auto want_of = [&](const std::string& type) -> int32_t {
    if (!in.process_types.count(type)) return 0;
    auto it = in.formation.find(type);
    return it == in.formation.end() ? 0 : std::max<int32_t>(0, it->second);
  };
  std::set<std::string> types;
  for (const auto& [t, n] : in.formation) types.insert(t);
  for (const auto& [t, v] : fresh) types.insert(t);

  // Scale down first: the extra replicas with the highest numbers go, those
  // not yet running before those that are.
  bool all_running = true;
  std::vector<const AppJob*> kept;
  for (const auto& type : types) {
    auto& js = fresh[type];
    std::sort(js.begin(), js.end(), [](const AppJob* a, const AppJob* b) {
      bool ra = a->run_state == "running", rb = b->run_state == "running";
      if (ra != rb) return ra;
      return a->replica < b->replica;
    });
    int32_t want = want_of(type);
    for (size_t i = 0; i < js.size(); ++i) {
      if (static_cast<int32_t>(i) < want) {
        kept.push_back(js[i]);
      } else {
        plan.stop.push_back(js[i]->id);
      }
    }
    std::set<int32_t> used;
    for (size_t i = 0; i < js.size() && static_cast<int32_t>(i) < want; ++i) used.insert(js[i]->replica);
    int32_t missing = want - std::min<int32_t>(want, static_cast<int32_t>(js.size()));
    for (int32_t r = 1; missing > 0; ++r) {
      if (used.count(r)) continue;
      plan.start.push_back({type, r});
      --missing;
    }
  }
  if (!plan.start.empty()) all_running = false;
  for (const AppJob* j : kept) {
    if (j->run_state != "running") all_running = false;
  }

  if (!old.empty()) {
    // Before the cut-over, the target may still fail and be rolled back.
    const AppJob* crashed = nullptr;
    for (const AppJob* j : kept) {
      if (j->crashed || j->run_state == "exited" || j->run_state == "failed") crashed = crashed ? crashed : j;
    }
    bool late = !all_running && in.now_ms - in.started_ms >= in.boot_timeout_ms;
    if (crashed || late) {
      RolloutPlan back;
      back.failed = true;
      back.why = crashed ? "v" + std::to_string(in.target) + " " + crashed->type + " replica " +
                               std::to_string(crashed->replica) + " crashed at boot (" +
                               (crashed->run_state.empty() ? "exited" : crashed->run_state) + ")"
                         : "v" + std::to_string(in.target) + " was not healthy within " +
                               std::to_string(in.boot_timeout_ms / 1000) + " s";
      for (const auto& [t, js] : fresh) {
        for (const AppJob* j : js) back.stop.push_back(j->id);
      }
      return back;
    }
    if (all_running) {
      plan.cut_over = true;
      for (const AppJob* j : old) plan.stop.push_back(j->id);
    }
    return plan;
  }
  // No old release: a first deploy or a scale. A first deploy that never
  // becomes healthy fails too (there is nothing to keep running).
  if (!all_running) {
    const AppJob* crashed = nullptr;
    for (const AppJob* j : kept) {
      if (j->crashed || j->run_state == "exited" || j->run_state == "failed") crashed = crashed ? crashed : j;
    }
    if (in.now_ms - in.started_ms >= in.boot_timeout_ms) {
      plan.failed = true;
      plan.why = "v" + std::to_string(in.target) + " was not healthy within " + std::to_string(in.boot_timeout_ms / 1000) +
                 " s" + (crashed ? " (" + crashed->type + " replica " + std::to_string(crashed->replica) + " crashed)" : "");
      plan.start.clear();
      // Replicas that came up keep serving (a scale of a running release);
      // those that never did stop.
      for (const AppJob* j : kept) {
        if (j->run_state != "running") plan.stop.push_back(j->id);
      }
      return plan;
    }
  }
  plan.done = all_running && plan.stop.empty() && plan.start.empty();
  return plan;
}

}  // namespace

RolloutPlan DecideRollout(const RolloutInput& in) {
  RolloutInput core = in;
  core.jobs.clear();
  std::vector<std::string> stale;
  for (const auto& j : in.jobs) {
    if (j.release == in.target || j.release == in.current) {
      core.jobs.push_back(j);
    } else {
      stale.push_back(j.id);
    }
  }
  RolloutPlan plan = DecideTargetAndCurrent(core);
  if (!stale.empty()) {
    plan.stop.insert(plan.stop.end(), stale.begin(), stale.end());
    plan.done = false;  // once they are gone
  }
  return plan;
}

}  // namespace rv::deploy
