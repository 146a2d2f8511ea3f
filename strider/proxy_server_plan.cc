#include "strider/proxy_server_plan.h"

#include "strider/proxy_runtime.h"

namespace rv::strider {

ProxyServerPlan PlanServerChanges(ProxyServerFiles loaded, ProxyServerFiles after, const ProxyServerState& state,
                                  bool may_use_runtime) {
  ProxyServerPlan plan;
  const std::set<std::string> now(after.servers.begin(), after.servers.end());
  const std::vector<std::string> gone = ProxyServersGone(loaded.servers, after.servers);
  const std::vector<std::string> added = ProxyServersGone(after.servers, loaded.servers);

  // 1. Whatever the rest, a server that left leaves now.
  for (const auto& g : gone)
    if (!state.out_of_rotation.count(g)) plan.leaving.push_back(g);
  for (const auto& [s, r] : state.added)
    if (!now.count(s) && !state.out_of_rotation.count(s)) plan.leaving.push_back(s);

  // 2. The rest, when servers are all that changed.
  plan.runtime = may_use_runtime && !loaded.cfg.empty() &&
                 ProxyConfigOnlyChangesServers(loaded.cfg, after.cfg, gone, added);
  if (!plan.runtime) return plan;
  for (const auto& a : added) {
    auto cmds = ProxyAddServerCommands(after.cfg, a);
    auto had = state.added.find(a);
    if (!cmds.ok() || (had != state.added.end() && had->second.cmds != *cmds)) {
      // 3. Not a server the CLI can add as it is: the reload carries it.
      plan.runtime = false;
      plan.to_add.clear();
      return plan;
    }
    if (had != state.added.end()) continue;  // the worker has it already
    ProxyRuntimeServer r{std::move(*cmds), {a}};
    for (const auto& t : ProxyTrackers(after.cfg, a)) r.names.push_back(t);
    plan.to_add.emplace(a, std::move(r));
  }
  for (const auto& o : state.out_of_rotation)
    if (now.count(o)) plan.back.push_back(o);
  plan.settled = gone.empty() && added.empty() && state.added.empty();
  return plan;
}

void ApplyServerPlan(const ProxyServerPlan& plan, ProxyServerState* state) {
  for (const auto& l : plan.leaving) state->out_of_rotation.insert(l);
  for (const auto& b : plan.back) state->out_of_rotation.erase(b);
  for (const auto& [s, r] : plan.to_add) state->added[s] = r;
}

}  // namespace rv::strider
