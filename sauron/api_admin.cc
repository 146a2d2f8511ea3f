// The operator's requests (rv): enrolment, draining, jobs, listings and the
// environments' config.
#include <spdlog/spdlog.h>

#include "common/event_kinds.h"
#include "common/crypto/secretbox.h"
#include "common/msg/env_config.h"
#include "common/msg/protocol.h"
#include "common/transport/keys.h"
#include "sauron/api_requests.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Result<std::string> Enroll(ApiCall& c, msg::EnrollHost& b) {
  Store& store = *c.deps.store;
  msg::HostRecord before;
  if (auto* h = store.FindHost(b.host_id)) before = *h;
  if (Status s = store.EnrollHost(b); !s.ok()) return s;
  const msg::HostRecord* after = store.FindHost(b.host_id);
  if (after && c.deps.on_enrolled) c.deps.on_enrolled(before, *after);
  spdlog::info("enrolled host {} (key {})", b.host_id, transport::KeyFingerprint(b.public_key));
  return std::string();
}

Result<std::string> Drain(ApiCall& c, msg::DrainHost& b) {
  if (Status s = c.deps.store->DrainHost(b.host_id, b.drain); !s.ok()) return s;
  return std::string();
}

Result<std::string> Submit(ApiCall& c, msg::SubmitJobs& b) {
  auto ids = c.deps.store->SubmitJobs(std::move(b.jobs), c.now_ms);
  if (!ids.ok()) return ids.status();
  return Answer(msg::JobIds{std::move(*ids)});
}

Result<std::string> Stop(ApiCall& c, msg::StopJobs& b) {
  return Answer(msg::Outcomes{c.deps.store->Stop(b.job_ids, c.now_ms)});
}

Result<std::string> List(ApiCall& c, msg::ListRequest& b) {
  const ApiDeps& d = c.deps;
  msg::Listing out;
  if (b.what == "hosts") {
    out.hosts = d.store->Hosts();
  } else if (b.what == "jobs") {
    auto jobs = d.store->ListJobs({}, b.limit);
    if (!jobs.ok()) return jobs.status();
    out.jobs = std::move(*jobs);
  } else if (b.what == "events") {
    auto events = d.store->ListEvents(b.after_seq, b.limit, b.newest);
    if (!events.ok()) return events.status();
    out.events = std::move(*events);
  } else if (b.what == "counters") {
    out.counters = d.counters->Snapshot();
    out.counters["events.last_seq"] = d.store->last_seq();
    if (d.extra_counters) d.extra_counters(&out.counters);
    for (const auto& [k, v] : c.state.sched_counters) out.counters["elrond." + k] = v;
  } else {
    return Status::Invalid("admin.list what must be hosts, jobs, events or counters, not '" + Clean(b.what) + "'");
  }
  return Answer(out);
}

Status HasEnvConfig(const ApiDeps& d) {
  return d.env_config ? Status::Ok() : Status::Unavailable("this sauron keeps no environment config");
}

Result<std::string> ConfigSet(ApiCall& c, msg::ConfigSet& b) {
  Status s = c.deps.env_config->Set(b.env, b.vars, b.secret, c.now_ms);
  for (auto& [k, v] : b.vars) crypto::Wipe(v);
  if (!s.ok()) return s;
  c.deps.counters->Add("config.set");
  // Names only: values are never logged, nor put in events.
  std::string names;
  for (const auto& [k, v] : b.vars) names += (names.empty() ? "" : ",") + k;
  spdlog::info("config of {}: set {}{}", Clean(b.env, 128), Clean(names, 256), b.secret ? " (secret)" : "");
  (void)c.deps.store->AppendEvent(event_kind::kConfigSet, "", "", 0, Clean(b.env, 128) + ": " + Clean(names, 256), c.now_ms);
  if (c.deps.releases) OnEnvConfigChanged(*c.deps.releases, *c.deps.store, b.env, "set " + Clean(names, 200), c.now_ms);
  return std::string();
}

Result<std::string> ConfigUnset(ApiCall& c, msg::ConfigUnset& b) {
  if (Status s = c.deps.env_config->Unset(b.env, b.names); !s.ok()) return s;
  c.deps.counters->Add("config.unset");
  std::string names;
  for (const auto& n : b.names) names += (names.empty() ? "" : ",") + n;
  (void)c.deps.store->AppendEvent(event_kind::kConfigUnset, "", "", 0, Clean(b.env, 128) + ": " + Clean(names, 256), c.now_ms);
  if (c.deps.releases) OnEnvConfigChanged(*c.deps.releases, *c.deps.store, b.env, "unset " + Clean(names, 200), c.now_ms);
  return std::string();
}

Result<std::string> ConfigList(ApiCall& c, msg::ConfigListRequest& b) {
  auto vars = c.deps.env_config->List(b.env);
  if (!vars.ok()) return vars.status();
  return Answer(msg::ConfigListing{b.env, std::move(*vars)});
}

}  // namespace

void RegisterAdminRequests(RequestTable& t) {
  const RoleSet admin{Role::kAdmin};
  t.On<msg::EnrollHost>(admin, G::kAlone, Enroll);
  t.On<msg::DrainHost>(admin, G::kAlone, Drain);
  t.On<msg::SubmitJobs>(admin, G::kGroupable, Submit);
  t.On<msg::StopJobs>(admin, G::kGroupable, Stop);
  t.On<msg::ListRequest>(admin, G::kAlone, List);
  // Config writes go through the env config's own connection: never grouped.
  t.On<msg::ConfigSet>(admin, G::kAlone, ConfigSet, HasEnvConfig);
  t.On<msg::ConfigUnset>(admin, G::kAlone, ConfigUnset, HasEnvConfig);
  t.On<msg::ConfigListRequest>(admin, G::kAlone, ConfigList, HasEnvConfig);
}

}  // namespace rv::sauron
