#include "builder/build_container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <algorithm>

#include "strider/container/container_runtime.h"
#include "strider/container/netns.h"

namespace rv::builder {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Status WriteFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::Io("create " + path + ": " + strerror(errno));
  ssize_t n = write(fd, data.data(), data.size());
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return Status::Io("write " + path);
  return Status::Ok();
}

Status WriteCgroup(const std::string& path, int64_t v) {
  std::ofstream f(path);
  f << v;
  f.flush();
  return f ? Status::Ok() : Status::Io("cannot write " + path);
}

int64_t ReadNum(const std::string& path) {
  std::ifstream in(path);
  int64_t v = -1;
  in >> v;
  return v;
}

// The value of `key` in a flat-keyed cgroup file ("max 3", "oom_kill 1"); 0 if absent.
int64_t KeyedValue(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

// Everything host-side a build holds, released in the destructor.
struct Resources {
  std::string runc, runc_root, id, rootfs, netns;
  std::vector<std::string> cgroups;  // ours, <h>/<parent>/<id>, in every hierarchy
  bool mounted = false, released = false;
  ~Resources() { Release(); }
  void Release() {
    if (released) return;
    released = true;
    if (!runc_root.empty() && access((runc_root + "/" + id).c_str(), F_OK) == 0)
      container::RunTool({runc, "--root", runc_root, "delete", "--force", id}, nullptr, 5000);
    if (mounted)
      for (int i = 0; i < 4 && umount2(rootfs.c_str(), MNT_DETACH) == 0; i++) {
      }
    if (!netns.empty()) container::DeleteNetns(netns);
    for (const auto& cg : cgroups) {
      rmdir((cg + "/c").c_str());
      rmdir(cg.c_str());
      rmdir(cg.substr(0, cg.rfind('/')).c_str());  // the shared parent, once no build uses it
    }
  }
};

// "rvbuild-<pid>-<hex>" whose pid is not a live process of this program.
bool StaleId(const std::string& id) {
  if (id.rfind("rvbuild-", 0) != 0) return false;
  size_t dash = id.find('-', 8);
  if (dash == std::string::npos) return false;
  std::string pid = id.substr(8, dash - 8);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  // /proc/<pid>/stat: "pid (comm) S ..."; a zombie (Z) is dead too.
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return true;
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  // Same program name as ours (the binary may be installed under another name).
  static const std::string self = [] {
    std::ifstream c("/proc/self/comm");
    std::string n;
    std::getline(c, n);
    return "(" + n + ")";
  }();
  bool builder = line.find(self) != std::string::npos;
  char state = line[close + 2];
  return !builder || state == 'Z' || state == 'X';
}

}  // namespace

int CleanStaleBuilds(const std::string& runc, const std::string& runc_root, const std::string& cgroup_parent,
                     const std::string& work_root) {
  std::set<std::string> stale;
  std::error_code ec;
  for (const std::string& dir : {runc_root, std::string("/var/run/netns"), work_root,
                                 "/sys/fs/cgroup/memory" + cgroup_parent, "/sys/fs/cgroup/pids" + cgroup_parent})
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (StaleId(e.path().filename().string())) stale.insert(e.path().filename().string());
  for (const auto& id : stale) {
    if (access((runc_root + "/" + id).c_str(), F_OK) == 0)
      container::RunTool({runc, "--root", runc_root, "delete", "--force", id}, nullptr, 5000);
    std::vector<std::string> mounts;
    {
      std::ifstream pm("/proc/mounts");
      std::string dev, mnt, rest;
      while (pm >> dev >> mnt && std::getline(pm, rest))
        if (mnt.find("/" + id + "/") != std::string::npos) mounts.push_back(mnt);
    }
    std::sort(mounts.rbegin(), mounts.rend());  // deepest first
    for (const auto& m : mounts) umount2(m.c_str(), MNT_DETACH);
    container::DeleteNetns(id);
    for (auto& sub : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      std::string base = sub.path().string() + cgroup_parent + "/" + id;
      rmdir((base + "/c").c_str());
      rmdir(base.c_str());
    }
    if (!work_root.empty()) fs::remove_all(work_root + "/" + id, ec);
  }
  return static_cast<int>(stale.size());
}

int64_t DiskUsage(const std::string& dir, int64_t stop_after) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat sb;
    if (lstat(it->path().c_str(), &sb) == 0) total += static_cast<int64_t>(sb.st_blocks) * 512;
    if (total > stop_after) break;
  }
  return total;
}

std::string DescribeFailure(const BuildOutcome& o, const BuildLimits& l) {
  std::string pids = o.pids_hit ? " (it hit its process limit of " + std::to_string(l.pids) + ")" : "";
  if (!o.started)
    return "the build container did not start" + (o.runc_error.empty() ? "" : ": " + o.runc_error);
  if (o.cancelled) return "build cancelled (the builder was asked to stop)";
  if (o.timed_out) return "build timed out after " + std::to_string(l.timeout_s) + " s" + pids;
  if (o.disk_exceeded)
    return "build used more than its disk limit of " + std::to_string(l.disk_mb) + " MB in /app, /cache and /out";
  if (o.oom) return "build ran out of memory (limit " + std::to_string(l.memory_mb) + " MB)";
  if (o.exit_code == 128 + SIGXFSZ)
    return "build wrote a file larger than its disk limit of " + std::to_string(l.disk_mb) + " MB";
  if (o.exit_code == 0) return "";
  if (o.exit_code > 128) return "build was killed by signal " + std::to_string(o.exit_code - 128) + pids;
  return "build failed: the buildpacks exited with code " + std::to_string(o.exit_code) + pids;
}

Result<BuildOutcome> RunBuildContainer(const BuildContainerSpec& s, const OutputSink& on_output) {
  BuildOutcome out;
  auto t_setup = Clock::now();
  if (s.layer_dirs.empty()) return Status::Invalid("the stack image has no layers");
  std::error_code ec;
  std::string upper = s.work_dir + "/upper", ovlwork = s.work_dir + "/ovlwork", rootfs = s.work_dir + "/rootfs",
              bundle = s.work_dir + "/bundle";
  for (const auto& d : {upper, ovlwork, rootfs, bundle}) {
    fs::create_directories(d, ec);
    if (ec) return Status::Io("create " + d + ": " + ec.message());
  }
  fs::create_directories(s.runc_root, ec);
  Resources res;
  res.runc = s.runc;
  res.id = s.id;
  res.rootfs = rootfs;

  // Stack rootfs: shared read-only layers; the upper only gets runc's mount points,
  // and runc remounts the root read-only before the build runs.
  std::string lower;
  for (auto it = s.layer_dirs.rbegin(); it != s.layer_dirs.rend(); ++it) lower += (lower.empty() ? "" : ":") + *it;
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + ovlwork;
  if (opts.size() >= 4000) return Status::Invalid("the stack image has too many layers for one overlay mount");
  if (mount("overlay", rootfs.c_str(), "overlay", MS_NODEV | MS_NOSUID, opts.c_str()) != 0)
    return Status::Io("mount the stack rootfs: " + std::string(strerror(errno)));
  res.mounted = true;

  auto ns = container::CreateNetns(s.id, false, "", -1);  // only lo: no route anywhere
  if (!ns.ok()) return Status::FromCode(ns.status().code(), "network namespace: " + ns.status().message());
  res.netns = s.id;

  // Our cgroup carries the memory and pids limits and outlives runc's child one.
  std::string memcg = "/sys/fs/cgroup/memory" + s.cgroup_parent + "/" + s.id;
  std::string pidscg = "/sys/fs/cgroup/pids" + s.cgroup_parent + "/" + s.id;
  for (auto& sub : fs::directory_iterator("/sys/fs/cgroup", ec))
    res.cgroups.push_back(sub.path().string() + s.cgroup_parent + "/" + s.id);
  int64_t mem_bytes = s.limits.memory_mb << 20;
  fs::create_directories(memcg, ec);
  Status st = WriteCgroup(memcg + "/memory.limit_in_bytes", mem_bytes);
  if (!st.ok()) return st;
  if (access((memcg + "/memory.memsw.limit_in_bytes").c_str(), W_OK) == 0)
    (void)WriteCgroup(memcg + "/memory.memsw.limit_in_bytes", mem_bytes);
  fs::create_directories(pidscg, ec);
  st = WriteCgroup(pidscg + "/pids.max", s.limits.pids);
  if (!st.ok()) return st;

  container::SpecInput in;
  in.rootfs = rootfs;
  in.readonly_rootfs = true;
  in.args = s.args;
  in.env = s.env;
  in.cwd = s.cwd;
  in.uid = s.uid;
  in.gid = s.gid;
  in.hostname = "build";
  in.netns_path = ns->path;
  in.cgroups_path = s.cgroup_parent + "/" + s.id + "/c";
  in.memory_bytes = mem_bytes + (1 << 20);  // backstop; ours above bites first
  in.cpu_quota_us = s.limits.cpus > 0 ? static_cast<int64_t>(s.limits.cpus * 100000) : 0;
  in.pids_limit = 0;  // on our cgroup, where pids.events survives
  // RLIMIT_NPROC counts every process of the uid on the host (apps share
  // 10000): low, it would let a neighbour's processes starve the build. The
  // pids cgroup is the build's own limit.
  in.nproc = std::max<uint64_t>(in.nproc, static_cast<uint64_t>(s.limits.pids) * 4);
  in.fsize_bytes = s.limits.disk_mb > 0 ? static_cast<uint64_t>(s.limits.disk_mb) << 20 : 0;
  in.extra_mounts = s.mounts;
  in.extra_mounts.push_back({"/tmp", "tmpfs", "tmpfs",
                             {"nosuid", "nodev", "mode=1777", "size=" + std::to_string(s.limits.tmp_mb) + "m"}});
  st = WriteFile(bundle + "/hosts", "127.0.0.1\tlocalhost build\n::1\tlocalhost\n");
  if (st.ok()) st = WriteFile(bundle + "/hostname", "build\n");
  if (st.ok()) st = WriteFile(bundle + "/resolv.conf", "");  // no DNS: there is no network
  if (!st.ok()) return st;
  in.etc_files = {{"/etc/hosts", bundle + "/hosts"}, {"/etc/hostname", bundle + "/hostname"},
                  {"/etc/resolv.conf", bundle + "/resolv.conf"}};
  std::string spec;
  try {
    spec = container::BuildRuntimeSpec(in).dump();
  } catch (const nlohmann::json::exception&) {  // a JSON writer holds only UTF-8
    return Status::Invalid("the build's environment holds text that is not UTF-8");
  }
  st = WriteFile(bundle + "/config.json", spec);
  if (!st.ok()) return st;

  std::string pidfile = bundle + "/pid";
  std::vector<std::string> argv = {s.runc, "--root", s.runc_root, "run", "--bundle", bundle,
                                   "--pid-file", pidfile, "--no-new-keyring", s.id};
  std::vector<char*> a;
  for (auto& x : argv) a.push_back(x.data());
  a.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Status::Io("pipe: " + std::string(strerror(errno)));
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  fcntl(pipefd[0], F_SETPIPE_SZ, 1 << 20);
  { std::ofstream reset(memcg + "/memory.max_usage_in_bytes"); reset << 0; }

  bool oom_killed = false;
  // cgroup v1 OOM notification on our memcg, the one whose limit bites: an
  // eventfd that counts the OOMs this build ran into.
  int oom_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int oom_ctl = open((memcg + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
  if (oom_efd >= 0 && oom_ctl >= 0) {
    std::ofstream ev(memcg + "/cgroup.event_control");
    ev << oom_efd << " " << oom_ctl;
    ev.flush();
    if (!ev) {
      close(oom_efd);
      oom_efd = -1;
    }
  }
  auto oom_events = [&] {
    uint64_t n = 0;
    if (oom_efd >= 0 && read(oom_efd, &n, sizeof n) == sizeof n && n > 0) oom_killed = true;
  };  pid_t parent = getpid();
  auto t_fork = Clock::now();
  out.setup_seconds = std::chrono::duration<double>(t_fork - t_setup).count();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the builder died: so does the build
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(pipefd[1]);
  if (pid < 0) {
    close(pipefd[0]);
    return Status::Io("fork: " + std::string(strerror(errno)));
  }
  res.runc_root = s.runc_root;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  std::string tail;  // last output, for runc's own error when it cannot start
  char buf[65536];
  auto drain = [&] {
    for (int i = 0; i < 64; i++) {
      ssize_t n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0) return n == 0;
      std::string_view chunk(buf, n);
      if (!out.started) {
        tail.append(chunk);
        if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
      }
      on_output(chunk);
    }
    return false;
  };
  auto deadline = Clock::now() + std::chrono::seconds(s.limits.timeout_s);
  Clock::time_point t_started = t_fork, kill_at{}, next_disk = Clock::now() + std::chrono::seconds(1);
  bool exited = false, killing = false, runc_killed = false;
  int wstatus = 0;
  auto kill_build = [&] {
    if (killing) return;
    killing = true;
    kill_at = Clock::now();
    container::RunTool({s.runc, "--root", s.runc_root, "kill", s.id, "KILL"}, nullptr, 5000);
  };
  while (!exited) {
    auto now = Clock::now();
    if (!killing && s.cancel && s.cancel->load()) {
      out.cancelled = true;
      kill_build();
    }
    if (!killing && now >= deadline) {
      out.timed_out = true;
      kill_build();
    }
    if (!killing && s.limits.disk_mb > 0 && now >= next_disk) {
      int64_t limit = s.limits.disk_mb << 20, used = 0;
      for (const auto& d : s.disk_dirs) used += DiskUsage(d, limit + 1 - used);
      out.disk_bytes = used;
      if (used > limit) {
        out.disk_exceeded = true;
        kill_build();
      }
      next_disk = Clock::now() + std::chrono::seconds(1);
    }
    if (killing && !runc_killed && now - kill_at > std::chrono::seconds(5)) {
      runc_killed = true;
      kill(pid, SIGKILL);  // runc itself is stuck
    }
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {pipefd[0], POLLIN, 0}};
    int wait_ms = out.started ? 100 : 2;
    poll(fds, 2, wait_ms);
    if (fds[1].revents & (POLLIN | POLLHUP)) drain();
    // cgroup v1 keeps no fork-failure count (pids.events stays 0) and counts
    // OOM kills only in runc's own cgroup, which runc removes on exit: watch
    // both while the build runs (a pids limit reached for less than a poll
    // interval can be missed).
    if (out.started && !out.pids_hit)
      out.pids_hit = ReadNum(pidscg + "/pids.current") >= s.limits.pids ||
                     KeyedValue(pidscg + "/c/pids.events", "max") > 0;
    if (out.started && !oom_killed) oom_killed = KeyedValue(memcg + "/c/memory.oom_control", "oom_kill") > 0;
    oom_events();
    if (!out.started && access(pidfile.c_str(), F_OK) == 0) {
      out.started = true;
      t_started = Clock::now();
      out.start_seconds = Since(t_fork);
    }
    if ((fds[0].revents & POLLIN) || pidfd < 0) {
      if (waitpid(pid, &wstatus, pidfd < 0 ? 0 : WNOHANG) == pid) exited = true;
    }
  }
  for (int i = 0; i < 100 && !drain(); i++) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) break;
  }
  close(pipefd[0]);
  if (pidfd >= 0) close(pidfd);
  oom_events();
  if (oom_efd >= 0) close(oom_efd);
  if (oom_ctl >= 0) close(oom_ctl);
  if (!out.started && access(pidfile.c_str(), F_OK) == 0) out.started = true;
  out.run_seconds = out.started ? Since(t_started) : 0;
  out.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  int64_t peak = ReadNum(memcg + "/memory.max_usage_in_bytes"), failcnt = ReadNum(memcg + "/memory.failcnt");
  // The OOM eventfd of our memcg (or an OOM kill seen in runc's), else, if
  // event_control was unavailable, a SIGKILL we did not send after usage
  // peaked at the limit (page cache alone reaches the limit too, so the peak
  // is not enough by itself).
  bool sigkill = out.exit_code == 128 + SIGKILL && !killing;
  out.oom = out.exit_code != 0 && !killing &&
            (oom_killed || failcnt > 0 || (sigkill && peak > 0 && peak >= mem_bytes - (256 << 10)));
  out.pids_hit = out.pids_hit || KeyedValue(pidscg + "/pids.events", "max") > 0;
  if (!out.started) {
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    auto nl = tail.rfind('\n');
    out.runc_error = (nl == std::string::npos ? tail : tail.substr(nl + 1)).substr(0, 300);
  }
  auto t_teardown = Clock::now();
  res.Release();
  out.teardown_seconds = Since(t_teardown);
  return out;
}

}  // namespace rv::builder
