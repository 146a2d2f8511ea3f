// The overlay's requests: a host's view of its peers, and the operator's key
// rotation and listing. All are Unavailable when the overlay is off.
#include "common/clock.h"
#include "common/msg/overlay.h"
#include "common/msg/protocol.h"
#include "sauron/api_requests.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Status HasOverlay(const ApiDeps& d) {
  return d.overlay ? Status::Ok() : Status::Unavailable("the overlay is disabled on this sauron");
}

Result<std::string> View(ApiCall& c, msg::OverlayViewRequest& b) {
  if (b.host_id != c.user) {
    c.audit.Refuse(c.user, "host '" + Clean(c.user) + "' asked for the overlay view of '" + Clean(b.host_id) + "'");
    return Status::Denied("a host may only read its own overlay view");
  }
  c.deps.liveness->OnMessage(c.user, MonotonicMs());
  auto v = c.deps.overlay->ViewFor(c.user, c.deps.store->Hosts());
  if (!v.ok()) return v.status();
  c.deps.counters->Add("overlay.views");
  return Answer(*v);
}

Result<std::string> Rotate(ApiCall& c, msg::RotateKey& b) {
  auto r = c.deps.overlay->Rotate(b.env, c.deps.store->Hosts(), WallMs(), b.aead);
  if (!r.ok()) return r.status();
  return Answer(*r);
}

Result<std::string> List(ApiCall& c, msg::OverlayListRequest& b) {
  msg::OverlayListing l{c.deps.overlay->Listing(b.env)};
  if (!b.env.empty() && l.envs.empty()) {
    return Status::NotFound("environment '" + Clean(b.env) + "' has no overlay network (no container of it ran yet)");
  }
  return Answer(l);
}

}  // namespace

void RegisterOverlayRequests(RequestTable& t) {
  t.On<msg::OverlayViewRequest>(RoleSet{Role::kHost}, G::kAlone, View, HasOverlay);
  t.On<msg::RotateKey>(RoleSet{Role::kAdmin}, G::kAlone, Rotate, HasOverlay);
  t.On<msg::OverlayListRequest>(RoleSet{Role::kAdmin}, G::kAlone, List, HasOverlay);
}

}  // namespace rv::sauron
