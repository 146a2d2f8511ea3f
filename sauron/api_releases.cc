// The requests of apps' builds and releases (common/msg/releases.h): the
// operator's and rv-deploy's admin.build_*, admin.release*, admin.formation_set.
//
// Every change appends an event (build.started, build.finished,
// release.created, release.<state>, formation.set; detail "<app> ...", never
// build output). Each ReleaseStore call is one transaction: bad input is
// answered with an error and nothing is half-written.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/build_job.h"
#include "common/msg/releases.h"
#include "sauron/api_requests.h"
#include "sauron/releases.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

std::string V(int64_t v) { return "v" + std::to_string(v); }

void Event(Store& store, const std::string& kind, const std::string& detail, int64_t now_ms) {
  Status s = store.AppendEvent(kind, "", "", 0, detail.substr(0, 512), now_ms);
  if (!s.ok()) spdlog::error("cannot record {} event: {}", kind, s.message());
}

std::string Describe(const msg::ReleaseRecord& r) {
  return r.app + " " + V(r.version) + " " + r.image + " config " + std::to_string(r.config_version) + " (" +
         r.description + ")";
}

Status HasReleases(const ApiDeps& d) {
  return d.releases ? Status::Ok() : Status::Unavailable("this sauron keeps no releases");
}

Result<std::string> BuildStart(ApiCall& c, msg::BuildStart& b) {
  auto r = c.deps.releases->StartBuild(b.app, b.commit, b.user, c.now_ms);
  if (!r.ok()) return r.status();
  Event(*c.deps.store, "build.started", b.app + " #" + std::to_string(r->number) + " commit " + r->commit + " by " + r->user,
        c.now_ms);
  return Answer(*r);
}

Result<std::string> BuildAppend(ApiCall& c, msg::BuildAppend& b) {
  if (c.role == Role::kHost) {
    // A build host writes only the output of the build job placed on it.
    auto job = c.deps.store->GetJob(b.job_id);
    if (!job.ok()) return c.Deny("build output for an unknown job " + Clean(b.job_id));
    if (Status s = build_job::MayAppendBuildOutput(*job, c.user, b.app, b.number); !s.ok()) return c.Deny(s.message());
  }
  if (Status s = c.deps.releases->AppendOutput(b.app, b.number, b.chunk); !s.ok()) return s;
  return std::string();
}

Result<std::string> BuildFinish(ApiCall& c, msg::BuildFinish& b) {
  if (Status s = c.deps.releases->FinishBuild(b, c.now_ms); !s.ok()) return s;
  Event(*c.deps.store, "build.finished",
        b.app + " #" + std::to_string(b.number) + (b.ok ? " succeeded " + b.image : " failed: " + b.error), c.now_ms);
  return std::string();
}

Result<std::string> Builds(ApiCall& c, msg::BuildsRequest& b) {
  if (Status s = ReleaseStore::ValidateApp(b.app); !s.ok()) return s;
  auto r = c.deps.releases->Builds(b.app, std::min(b.limit, 1000));
  if (!r.ok()) return r.status();
  return Answer(msg::BuildList{std::move(*r)});
}

Result<std::string> BuildOutput(ApiCall& c, msg::BuildOutputRequest& b) {
  // A reply stays well under the envelope limit.
  auto r = c.deps.releases->Output(b.app, b.number, b.offset, std::min<int64_t>(b.max_bytes, 1 << 20));
  if (!r.ok()) return r.status();
  return Answer(*r);
}

Result<std::string> ReleaseCreate(ApiCall& c, msg::ReleaseCreate& b) {
  auto r = c.deps.releases->CreateRelease(b, c.now_ms);
  if (!r.ok()) return r.status();
  Event(*c.deps.store, "release.created", Describe(*r), c.now_ms);
  return Answer(*r);
}

Result<std::string> ReleaseState(ApiCall& c, msg::ReleaseState& b) {
  if (Status s = c.deps.releases->SetReleaseState(b.app, b.version, b.state, b.detail); !s.ok()) return s;
  Event(*c.deps.store, "release." + b.state, b.app + " " + V(b.version) + (b.detail.empty() ? "" : ": " + b.detail),
        c.now_ms);
  return std::string();
}

Result<std::string> Releases(ApiCall& c, msg::ReleasesRequest& b) {
  auto r = c.deps.releases->Releases(b.app, std::min(b.limit, 1000));
  if (!r.ok()) return r.status();
  return Answer(*r);
}

Result<std::string> FormationSet(ApiCall& c, msg::FormationSet& b) {
  if (Status s = c.deps.releases->SetFormation(b.app, b.counts); !s.ok()) return s;
  std::string what;
  for (const auto& [t, n] : b.counts) what += " " + t + "=" + std::to_string(n);
  Event(*c.deps.store, "formation.set", b.app + what, c.now_ms);
  auto r = c.deps.releases->Releases(b.app, 1);
  if (!r.ok()) return r.status();
  return Answer(*r);
}

Result<std::string> EnvReleases(ApiCall& c, msg::EnvReleasesRequest& b) {
  auto r = c.deps.releases->LatestOfEnv(b.env);
  if (!r.ok()) return r.status();
  msg::ReleaseList out;
  out.releases = std::move(*r);
  return Answer(out);
}

}  // namespace

void OnEnvConfigChanged(ReleaseStore& rs, Store& store, const std::string& env, const std::string& what, int64_t now) {
  auto made = rs.BumpConfig(env, what, now);
  if (!made.ok()) {
    spdlog::error("config of {} changed but no release was recorded: {}", env, made.status().message());
    return;
  }
  for (const auto& r : *made) Event(store, "release.created", Describe(r), now);
}

void RegisterReleaseRequests(RequestTable& t) {
  // rv and rv-deploy speak with the pod's admin key.
  const RoleSet admin{Role::kAdmin};
  t.On<msg::BuildStart>(admin, G::kAlone, BuildStart, HasReleases);
  // The strider running a build job (docs/BUILDER.md, "Builds as jobs") streams its output.
  t.On<msg::BuildAppend>(RoleSet{Role::kAdmin, Role::kHost}, G::kAlone, BuildAppend, HasReleases);
  t.On<msg::BuildFinish>(admin, G::kAlone, BuildFinish, HasReleases);
  t.On<msg::BuildsRequest>(admin, G::kAlone, Builds, HasReleases);
  t.On<msg::BuildOutputRequest>(admin, G::kAlone, BuildOutput, HasReleases);
  t.On<msg::ReleaseCreate>(admin, G::kAlone, ReleaseCreate, HasReleases);
  t.On<msg::ReleaseState>(admin, G::kAlone, ReleaseState, HasReleases);
  t.On<msg::ReleasesRequest>(admin, G::kAlone, Releases, HasReleases);
  t.On<msg::FormationSet>(admin, G::kAlone, FormationSet, HasReleases);
  t.On<msg::EnvReleasesRequest>(admin, G::kAlone, EnvReleases, HasReleases);
}

}  // namespace rv::sauron
