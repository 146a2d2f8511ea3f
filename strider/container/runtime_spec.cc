#include "strider/container/runtime_spec.h"

#include <algorithm>

namespace rv::container {

using nlohmann::json;

json BuildRuntimeSpec(const SpecInput& in) {
  json ns = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (in.netns_path.empty()) ns.push_back({{"type", "network"}});
  else ns.push_back({{"type", "network"}, {"path", in.netns_path}});

  json mounts = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
  });
  for (const auto& [dst, src] : in.etc_files)
    mounts.push_back({{"destination", dst}, {"type", "bind"}, {"source", src},
                      {"options", {"rbind", "ro", "nosuid", "nodev", "noexec"}}});
  for (const auto& m : in.extra_mounts)
    mounts.push_back({{"destination", m.destination}, {"type", m.type}, {"source", m.source}, {"options", m.options}});

  json resources = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  if (in.memory_bytes > 0) resources["memory"] = {{"limit", in.memory_bytes}, {"swap", in.memory_bytes}};
  if (in.cpu_quota_us > 0 || in.cpu_shares > 0) {
    json cpu = json::object();
    if (in.cpu_quota_us > 0) {
      cpu["quota"] = in.cpu_quota_us;
      cpu["period"] = in.cpu_period_us;
    }
    if (in.cpu_shares > 0) cpu["shares"] = in.cpu_shares;
    resources["cpu"] = cpu;
  }
  if (in.pids_limit > 0) resources["pids"] = {{"limit", in.pids_limit}};

  json rlimits = json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", in.nofile}, {"soft", in.nofile}},
                              {{"type", "RLIMIT_NPROC"}, {"hard", in.nproc}, {"soft", in.nproc}},
                              {{"type", "RLIMIT_CORE"}, {"hard", 0}, {"soft", 0}}});
  if (in.fsize_bytes > 0)
    rlimits.push_back({{"type", "RLIMIT_FSIZE"}, {"hard", in.fsize_bytes}, {"soft", in.fsize_bytes}});
  json caps = json::array();  // nothing: a web app needs no capability (ports >= 1024)
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", in.uid}, {"gid", in.gid}, {"additionalGids", json::array({in.gid})}}},
        {"args", in.args},
        {"env", in.env},
        {"cwd", in.cwd.empty() ? "/" : in.cwd},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"inheritable", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", rlimits},
        {"noNewPrivileges", true},
        {"oomScoreAdj", 500}}},
      {"root", {{"path", in.rootfs}, {"readonly", in.readonly_rootfs}}},
      {"hostname", in.hostname},
      {"mounts", mounts},
      {"linux",
       {{"namespaces", ns},
        {"cgroupsPath", in.cgroups_path},
        {"resources", resources},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/fs/selinux"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
  };
}

CpuLimits CpuLimitsFor(int64_t cpu_millis) {
  if (cpu_millis <= 0) return {};
  // The kernel's minimum weight is 2.
  return {std::max<int64_t>(2, cpu_millis * 1024 / 1000), std::max(cpu_millis, kCpuBurstMillis) * 100};
}

}  // namespace rv::container
