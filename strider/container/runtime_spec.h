// BuildRuntimeSpec: the OCI runtime config (config.json) runc runs a container
// from. One place states the isolation every container gets:
//   - own PID, mount, UTS, IPC and network namespaces (network: a prepared
//     netns path, so the veth exists before the process starts);
//   - a non-root uid/gid, every capability dropped, no_new_privileges;
//   - /proc/kcore & co masked, /proc/sys & co read-only, /sys read-only;
//   - cgroup v1 limits under cgroupsPath: memory (+swap = memory, so no swap
//     escape), CPU quota, pids; rlimits NOFILE/NPROC/CORE;
//   - /etc/hostname, /etc/hosts and /etc/resolv.conf bind-mounted read-only
//     from the bundle;
//   - optionally (builds): a read-only rootfs, extra bind/tmpfs mounts and an
//     RLIMIT_FSIZE cap.
// The env (which holds the secrets) goes only into this document, which the
// caller writes on tmpfs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rv::container {

struct SpecInput {
  std::string rootfs;                 // absolute (the overlay mount)
  std::vector<std::string> args;
  std::vector<std::string> env;       // "K=V"
  std::string cwd = "/";
  uint32_t uid = 10000, gid = 10000;
  std::string hostname;
  std::string netns_path;             // "" = a fresh, empty netns
  std::string cgroups_path;           // "/rivendell/<id>"
  int64_t memory_bytes = 0;           // 0 = no limit
  int64_t cpu_quota_us = 0;           // 0 = no limit; per cpu_period_us
  int64_t cpu_period_us = 100000;
  int64_t cpu_shares = 0;             // 0 = the kernel's default weight
  int64_t pids_limit = 256;
  uint64_t nofile = 1024;
  uint64_t nproc = 4096;
  std::vector<std::pair<std::string, std::string>> etc_files;  // (container path, host path) read-only binds
  bool readonly_rootfs = false;
  struct Mount {
    std::string destination, type, source;  // type "bind" or "tmpfs"
    std::vector<std::string> options;       // e.g. {"rbind","ro","nosuid","nodev"} or {"size=64m","mode=1777"}
  };
  std::vector<Mount> extra_mounts;
  uint64_t fsize_bytes = 0;           // 0 = no RLIMIT_FSIZE
};

nlohmann::json BuildRuntimeSpec(const SpecInput& in);

// A job's CPU in the kernel's terms. Its reservation (what elrond placed it
// by) is its weight under contention (cpu.shares, 1024 per core), and it may
// burst to at least one core when the host is idle (the CFS quota), as a
// Heroku dyno or a Kubernetes pod with a limit above its request does: a
// 0.1-core web process would otherwise take seconds to boot an interpreter.
struct CpuLimits {
  int64_t shares = 0;    // 0 = default
  int64_t quota_us = 0;  // per 100 ms period; 0 = none
};
inline constexpr int64_t kCpuBurstMillis = 1000;
CpuLimits CpuLimitsFor(int64_t cpu_millis);

}  // namespace rv::container
