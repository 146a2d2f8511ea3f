// The scheduler's requests: elrond reads the snapshot and records its awards,
// revokes and pending reasons.
#include "common/msg/protocol.h"
#include "sauron/api_requests.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Result<std::string> Snapshot(ApiCall& c, msg::SnapshotRequest& b) {
  auto snap = c.deps.store->Snapshot(b.include_placed);
  if (!snap.ok()) return snap.status();
  if (c.deps.overlay) snap->env_aeads = c.deps.overlay->EnvAeads();
  return Answer(*snap);
}

Result<std::string> Award(ApiCall& c, msg::AwardRecordRequest& b) {
  return Answer(msg::Outcomes{c.deps.store->Award(b.awards, c.now_ms)});
}

Result<std::string> Revoke(ApiCall& c, msg::RevokeRequest& b) {
  return Answer(msg::Outcomes{c.deps.store->Revoke(b.items, b.reason, c.now_ms)});
}

Result<std::string> Pending(ApiCall& c, msg::PendingReasonsRequest& b) {
  return Answer(msg::Outcomes{c.deps.store->SetPendingReasons(b.items, c.now_ms)});
}

Result<std::string> Counters(ApiCall& c, msg::SchedCounters& b) {
  // Bounded: a confused scheduler must not grow sauron without limit.
  if (b.counters.size() > ApiState::kMaxSchedCounters) return Status::Invalid("too many counters");
  c.state.sched_counters = std::move(b.counters);
  return std::string();
}

}  // namespace

void RegisterSchedulerRequests(RequestTable& t) {
  const RoleSet sched{Role::kScheduler};
  t.On<msg::SnapshotRequest>(sched, G::kAlone, Snapshot);
  t.On<msg::AwardRecordRequest>(sched, G::kGroupable, Award);
  t.On<msg::RevokeRequest>(sched, G::kGroupable, Revoke);
  t.On<msg::PendingReasonsRequest>(sched, G::kGroupable, Pending);
  t.On<msg::SchedCounters>(sched, G::kAlone, Counters);
}

}  // namespace rv::sauron
