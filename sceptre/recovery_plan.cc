#include "sceptre/recovery_plan.h"

namespace rv::sceptre {

const char* ActionName(ActionKind k) {
  switch (k) {
    case ActionKind::kRuncDelete: return "runc-delete";
    case ActionKind::kUnmount: return "unmount";
    case ActionKind::kDeleteNetns: return "delete-netns";
    case ActionKind::kRemoveCgroup: return "remove-cgroup";
    case ActionKind::kRemoveBundle: return "remove-bundle";
    case ActionKind::kRemovePath: return "remove";
  }
  return "?";
}

Plan DecideRecovery(const Observed& o) {
  Plan p;
  std::vector<Action> state, mounts, nets, cgroups, files;
  for (const auto& c : o.containers) {
    if (c.alive) {
      p.left_running.push_back(c.id);
      continue;
    }
    bool any = c.has_runc_state || c.has_mount || c.has_netns || c.has_cgroup || c.has_bundle ||
               (c.has_dir && !c.in_journal);
    if (!any) continue;
    ++p.dead_containers;
    const std::string why = c.in_journal ? "app gone; the strider starts it again" : "app gone, not in the journal";
    if (c.has_runc_state) state.push_back({ActionKind::kRuncDelete, c.id, why});
    if (c.has_mount) mounts.push_back({ActionKind::kUnmount, c.id, why});
    if (c.has_netns) nets.push_back({ActionKind::kDeleteNetns, c.id, why});
    if (c.has_cgroup) cgroups.push_back({ActionKind::kRemoveCgroup, c.id, why});
    if (c.has_bundle) files.push_back({ActionKind::kRemoveBundle, c.id, why});
    if (c.has_dir && !c.in_journal) files.push_back({ActionKind::kRemovePath, "container:" + c.id, why});
  }
  for (const auto& t : o.image_tmp) files.push_back({ActionKind::kRemovePath, t, "pull or unpack cut short"});
  for (const auto& t : o.journal_tmp) files.push_back({ActionKind::kRemovePath, t, "journal write cut short"});
  for (const auto& b : o.corrupt_blobs) files.push_back({ActionKind::kRemovePath, b, "blob does not match its digest"});
  for (const auto& l : o.orphan_layers) files.push_back({ActionKind::kRemovePath, l, "layer without its blob"});
  for (const auto& l : o.stale_locks) files.push_back({ActionKind::kRemovePath, l, "lock nobody holds"});
  // runc state first (it may hold the mount busy), the mount before the
  // netns and cgroups it lives in, files last.
  for (auto* v : {&state, &mounts, &nets, &cgroups, &files}) p.actions.insert(p.actions.end(), v->begin(), v->end());
  return p;
}

}  // namespace rv::sceptre
