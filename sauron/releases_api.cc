#include "sauron/releases_api.h"

#include <spdlog/spdlog.h>

#include "common/msg/releases.h"
#include "common/transport/rpc_client.h"

namespace rv::sauron {
namespace {

std::string V(int64_t v) { return "v" + std::to_string(v); }

void Event(Store& store, const std::string& kind, const std::string& detail, int64_t now_ms) {
  Status s = store.AppendEvent(kind, "", "", 0, detail.substr(0, 512), now_ms);
  if (!s.ok()) spdlog::error("cannot record {} event: {}", kind, s.message());
}

}  // namespace

const std::vector<const char*>& ReleaseRequestTypes() {
  static const std::vector<const char*> kTypes = {
      msg::BuildStart::kType,    msg::BuildAppend::kType,     msg::BuildFinish::kType,
      msg::BuildsRequest::kType, msg::BuildOutputRequest::kType, msg::ReleaseCreate::kType,
      msg::ReleaseState::kType,  msg::ReleasesRequest::kType, msg::FormationSet::kType,
      msg::EnvReleasesRequest::kType,
  };
  return kTypes;
}

bool IsReleaseRequest(const std::string& type) {
  for (const char* t : ReleaseRequestTypes()) {
    if (type == t) return true;
  }
  return false;
}

Result<std::string> DispatchReleases(ReleaseStore& rs, Store& store, const msg::Envelope& env, int64_t now) {
  const std::string& type = env.type;
  const uint64_t id = env.req_id;
  if (type == msg::BuildStart::kType) {
    msg::BuildStart b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    auto r = rs.StartBuild(b.app, b.commit, b.user, now);
    if (!r.ok()) return r.status();
    Event(store, "build.started", b.app + " #" + std::to_string(r->number) + " commit " + r->commit + " by " + r->user, now);
    return transport::EncodeReplyWith(id, *r);
  }
  if (type == msg::BuildAppend::kType) {
    msg::BuildAppend b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    if (Status s = rs.AppendOutput(b.app, b.number, b.chunk); !s.ok()) return s;
    return transport::EncodeReply(id, Status::Ok());
  }
  if (type == msg::BuildFinish::kType) {
    msg::BuildFinish b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    if (Status s = rs.FinishBuild(b, now); !s.ok()) return s;
    Event(store, "build.finished",
          b.app + " #" + std::to_string(b.number) + (b.ok ? " succeeded " + b.image : " failed: " + b.error), now);
    return transport::EncodeReply(id, Status::Ok());
  }
  if (type == msg::BuildsRequest::kType) {
    msg::BuildsRequest b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    if (Status s = ReleaseStore::ValidateApp(b.app); !s.ok()) return s;
    auto r = rs.Builds(b.app, std::min(b.limit, 1000));
    if (!r.ok()) return r.status();
    return transport::EncodeReplyWith(id, msg::BuildList{std::move(*r)});
  }
  if (type == msg::BuildOutputRequest::kType) {
    msg::BuildOutputRequest b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    // A reply stays well under the envelope limit.
    auto r = rs.Output(b.app, b.number, b.offset, std::min<int64_t>(b.max_bytes, 1 << 20));
    if (!r.ok()) return r.status();
    return transport::EncodeReplyWith(id, *r);
  }
  if (type == msg::ReleaseCreate::kType) {
    msg::ReleaseCreate b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    auto r = rs.CreateRelease(b, now);
    if (!r.ok()) return r.status();
    Event(store, "release.created", r->app + " " + V(r->version) + " " + r->image + " config " + std::to_string(r->config_version) + " (" + r->description + ")", now);
    return transport::EncodeReplyWith(id, *r);
  }
  if (type == msg::ReleaseState::kType) {
    msg::ReleaseState b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    if (Status s = rs.SetReleaseState(b.app, b.version, b.state, b.detail); !s.ok()) return s;
    Event(store, "release." + b.state, b.app + " " + V(b.version) + (b.detail.empty() ? "" : ": " + b.detail), now);
    return transport::EncodeReply(id, Status::Ok());
  }
  if (type == msg::ReleasesRequest::kType) {
    msg::ReleasesRequest b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    auto r = rs.Releases(b.app, std::min(b.limit, 1000));
    if (!r.ok()) return r.status();
    return transport::EncodeReplyWith(id, *r);
  }
  if (type == msg::FormationSet::kType) {
    msg::FormationSet b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    if (Status s = rs.SetFormation(b.app, b.counts); !s.ok()) return s;
    std::string what;
    for (const auto& [t, n] : b.counts) what += " " + t + "=" + std::to_string(n);
    Event(store, "formation.set", b.app + what, now);
    auto r = rs.Releases(b.app, 1);
    if (!r.ok()) return r.status();
    return transport::EncodeReplyWith(id, *r);
  }
  if (type == msg::EnvReleasesRequest::kType) {
    msg::EnvReleasesRequest b;
    if (Status s = msg::DecodeBody(env, &b); !s.ok()) return s;
    auto r = rs.LatestOfEnv(b.env);
    if (!r.ok()) return r.status();
    msg::ReleaseList out;
    out.releases = std::move(*r);
    return transport::EncodeReplyWith(id, out);
  }
  return Status::Internal("unhandled type " + type);
}

void OnEnvConfigChanged(ReleaseStore& rs, Store& store, const std::string& env, const std::string& what, int64_t now) {
  auto made = rs.BumpConfig(env, what, now);
  if (!made.ok()) {
    spdlog::error("config of {} changed but no release was recorded: {}", env, made.status().message());
    return;
  }
  for (const auto& r : *made) {
    Event(store, "release.created", r.app + " " + V(r.version) + " " + r.image + " config " + std::to_string(r.config_version) + " (" + r.description + ")", now);
  }
}

}  // namespace rv::sauron
