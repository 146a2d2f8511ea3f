// HostScan: the I/O half of `sceptre recover` (recovery_plan.h decides).
// Observe() looks at one host's container state, run dir, netns, cgroups,
// image store, journal and lock files; Apply() carries out a plan's actions,
// each best-effort, and says what it did. Names follow the strider's own
// (strider/container/container_runtime.h): netns "<container id>-<6 hex of
// the run dir>", cgroups "<hierarchy><cgroup parent>/<container id>[/c]",
// overlay mounts "<state dir>/containers/<id>/rootfs".
//
// Not thread-safe; run once at boot, before the strider.
#pragma once

#include <string>
#include <vector>

#include "sceptre/recovery_plan.h"

namespace rv::sceptre {

struct HostPaths {
  std::string data_dir;       // the strider's data dir (journal, logs)
  std::string state_dir;      // <data dir>/container by default
  std::string run_dir;        // the strider's tmpfs run dir
  std::string cgroup_parent;  // /rivendell/<tag>
  std::string runc = "/usr/sbin/runc";
  std::string netns_dir = "/var/run/netns";
  std::string cgroup_root = "/sys/fs/cgroup";
};

struct Done {
  Action action;
  bool ok = true;
  std::string error;
};

class HostScan {
 public:
  explicit HostScan(HostPaths p) : p_(std::move(p)) {}
  // Also loads the journal: corrupt entries are set aside (and listed).
  Observed Observe();
  std::vector<Done> Apply(const Plan& plan);
  const std::vector<std::string>& journal_corrupt() const { return journal_corrupt_; }
  const std::vector<std::string>& journal_jobs() const { return journal_jobs_; }

 private:
  std::string NetnsName(const std::string& id) const;
  HostPaths p_;
  std::vector<std::string> journal_corrupt_;
  std::vector<std::string> journal_jobs_;
};

}  // namespace rv::sceptre
