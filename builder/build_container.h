// RunBuildContainer: one build in a runc container, from the stack's unpacked
// layers, with its output handed over as it comes. The caller owns work_dir
// (and removes it); this function leaves no mount, netns, runc state or
// cgroup behind, whatever happens, and kills the build if the builder dies
// (PR_SET_PDEATHSIG on runc; the container's PID 1 takes every build process
// with it).
//
// Isolation (strider/container/runtime_spec.h, the strider's own): own PID,
// mount, IPC, UTS namespaces and a network namespace with only `lo` (up), so
// the build reaches nothing; the stack rootfs read-only (overlayfs whose upper
// only runc's mount points land in); uid/gid non-root, no capabilities,
// no_new_privileges, masked /proc paths; the caller's extra mounts (/app,
// /cache, /env, /buildpacks, /out) and a size-capped /tmp tmpfs.
//
// Limits: memory (memsw too) and pids on a cgroup of our own,
// <parent>/<id> (runc's is <parent>/<id>/c), which outlives runc's; an OOM
// eventfd (cgroup.event_control) on it says the build ran out of memory; CPU
// quota; RLIMIT_FSIZE and a periodic size check of the writable dirs (disk);
// a wall-clock timeout. Over a limit, the build is killed (runc kill KILL,
// then runc itself) and the outcome says which limit.
//
// DescribeFailure is pure: the one-line reason for an outcome, or "" if the
// build succeeded.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "strider/container/runtime_spec.h"

namespace rv::builder {

struct BuildLimits {
  int timeout_s = 900;
  int64_t memory_mb = 1024;
  int64_t pids = 512;
  double cpus = 1;
  int64_t disk_mb = 4096;   // /app + /cache + /out together
  int64_t tmp_mb = 512;     // the /tmp tmpfs (charged to the memory limit)
};

struct BuildContainerSpec {
  std::string id;                        // [a-z0-9-], unique on this machine
  std::vector<std::string> layer_dirs;   // the stack's unpacked layers, bottom first
  std::string work_dir;                  // upper/, ovlwork/, rootfs/, bundle/ go here
  std::string runc = "/usr/sbin/runc";
  std::string runc_root;
  std::string cgroup_parent = "/rivendell-builder";
  uint32_t uid = 10000, gid = 10000;
  std::vector<std::string> args, env;
  std::string cwd = "/app";
  std::vector<container::SpecInput::Mount> mounts;
  std::vector<std::string> disk_dirs;    // host dirs whose size counts against disk_mb
  BuildLimits limits;
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGTERM): kill the build
};

struct BuildOutcome {
  int exit_code = -1;            // the build's (runc's) exit status; 128+N for signal N
  bool started = false;          // runc got the build's first process running
  bool timed_out = false;
  bool cancelled = false;
  bool oom = false;              // the memory cgroup reached its limit and the build failed
  bool pids_hit = false;         // a fork failed at the pids limit
  bool disk_exceeded = false;
  int64_t disk_bytes = 0;        // last measure of disk_dirs
  double setup_seconds = 0;      // overlay mount, netns, cgroups, bundle
  double start_seconds = 0;      // runc run until the build's process runs
  double run_seconds = 0;        // the build itself
  double teardown_seconds = 0;   // runc state, mount, netns, cgroups removed
  std::string runc_error;        // runc's last line when it could not start the build
};

using OutputSink = std::function<void(std::string_view bytes)>;

Result<BuildOutcome> RunBuildContainer(const BuildContainerSpec& spec, const OutputSink& on_output);

std::string DescribeFailure(const BuildOutcome& o, const BuildLimits& l);

// Removes what builds whose builder died (kill -9, a crash) left behind: ids
// `rvbuild-<pid>-<hex>` whose pid is no longer a live `builder` process, found in
// runc's root, /var/run/netns, the cgroup parent and `work_root`: runc state
// (killing the orphaned build), mounts, the netns, cgroups, the work dir.
// Returns how many stale builds it removed.
int CleanStaleBuilds(const std::string& runc, const std::string& runc_root, const std::string& cgroup_parent,
                     const std::string& work_root);

// Bytes used by the files under `dir` (st_blocks), not following symlinks;
// stops counting past `stop_after`.
int64_t DiskUsage(const std::string& dir, int64_t stop_after);

}  // namespace rv::builder
