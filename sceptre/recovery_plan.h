// RecoveryPlan: what `sceptre recover` does to a host after an unclean
// shutdown (a crash, a power cut, a kill -9 of everything), decided from what
// it observed. Pure: no I/O, so every rule is unit-tested; host_scan.h
// observes and acts (LevelDB's db/repair.cc is the model: a thin driver over
// the same internals the daemon uses).
//
// Rules:
//  * A container whose app still runs (runc state "running", its pid alive)
//    is left alone: the strider adopts it (live restore) or, if sauron moved
//    its job away, stops it. Sceptre never kills a live app.
//  * Every trace of a container whose app is gone is debris: its runc state,
//    overlayfs mount, netns (its veth goes with it), cgroups and bundle. Its
//    container dir (logs) is kept when the journal still names the job (the
//    strider starts it again there) and removed otherwise.
//  * Downloads and unpacks in progress (the image store's tmp/) and journal
//    writes that never finished (*.tmp) are removed.
//  * The image store is checked: a blob whose content does not match its
//    digest, or a layer directory whose blob is missing, is removed, so the
//    next pull fetches it again; nothing that is intact is touched.
//  * A lock file nobody holds is removed.
//  * The journal's jobs are started again by the strider (in priority order,
//    data services first), reconciled with sauron: see strider/restore_plan.h.
#pragma once

#include <string>
#include <vector>

namespace rv::sceptre {

struct ContainerObs {
  std::string id;
  bool has_dir = false, has_mount = false, has_netns = false, has_cgroup = false;
  bool has_runc_state = false, has_bundle = false;
  bool alive = false;       // runc says running and the pid lives
  bool in_journal = false;  // the journal names its job
};

struct Observed {
  bool run_dir_present = false;               // false after a reboot (the tmpfs is gone)
  std::vector<ContainerObs> containers;
  std::vector<std::string> image_tmp;          // paths in the image store's tmp/
  std::vector<std::string> journal_tmp;        // unfinished journal writes
  std::vector<std::string> corrupt_blobs;      // blob paths whose content does not match the name
  std::vector<std::string> orphan_layers;      // layer dirs whose blob is missing
  std::vector<std::string> stale_locks;        // lock files nobody holds
  int journal_entries = 0;
  int journal_corrupt = 0;
};

enum class ActionKind { kRuncDelete, kUnmount, kDeleteNetns, kRemoveCgroup, kRemoveBundle, kRemovePath };
const char* ActionName(ActionKind k);

struct Action {
  ActionKind kind;
  std::string target;  // container id for container actions, a path otherwise
  std::string why;
};

struct Plan {
  std::vector<Action> actions;           // in order: state, mounts, netns, cgroups, files
  std::vector<std::string> left_running; // live containers, for the strider to adopt or fence
  int dead_containers = 0;
};

Plan DecideRecovery(const Observed& o);

}  // namespace rv::sceptre
