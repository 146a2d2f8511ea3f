#include "strider/container/container_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>

#include "common/crypto/sha256.h"

namespace rv::container {

namespace fs = std::filesystem;

bool RuncStateAlive(const std::string& state_json, pid_t* out) {
  std::ifstream sf(state_json);
  if (!sf) return false;
  // runc's own test for "created": the exec fifo goes once the app is exec'd.
  if (access((fs::path(state_json).parent_path() / "exec.fifo").c_str(), F_OK) == 0) return false;
  pid_t pid = -1;
  uint64_t start = 0;
  try {
    auto j = nlohmann::json::parse(sf);
    pid = j.value("init_process_pid", -1);
    start = j.value("init_process_start", uint64_t{0});
  } catch (const std::exception&) {
    return false;
  }
  if (pid <= 0) return false;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  auto rp = stat.rfind(')');
  if (rp == std::string::npos || rp + 2 > stat.size()) return false;
  std::istringstream fields(stat.substr(rp + 2));  // field 3 (state) onwards
  std::string f;
  uint64_t now_start = 0;
  for (int i = 3; i <= 22 && fields >> f; ++i)
    if (i == 22) now_start = std::strtoull(f.c_str(), nullptr, 10);
  if (now_start == 0 || now_start != start) return false;
  if (out) *out = pid;
  return true;
}

std::string RuntimeTag(const std::string& host_id, const std::string& data_dir) {
  std::string abs_data = fs::absolute(data_dir).lexically_normal().string();
  return host_id + "-" + crypto::Sha256Hex(abs_data).substr(0, 8);
}

std::string ContainerIdFor(const std::string& job_id) {
  std::string clean;
  for (char c : job_id) {
    if (clean.size() >= 40) break;
    clean += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? static_cast<char>(tolower(c)) : '_';
  }
  return "rv-" + clean + "-" + crypto::Sha256Hex(job_id).substr(0, 8);
}

Status RunTool(const std::vector<std::string>& argv, std::string* out, int timeout_ms) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Status::Io("pipe failed");
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return Status::Io("fork failed");
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    execv(a[0], a.data());
    _exit(127);
  }
  close(p[1]);
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    if (poll(&pf, 1, left) <= 0) continue;
    char tmp[1024];
    ssize_t n = read(p[0], tmp, sizeof tmp);
    if (n <= 0) break;
    if (buf.size() < 16384) buf.append(tmp, n);
  }
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  while (!buf.empty() && buf.back() == '\n') buf.pop_back();
  if (out) *out = buf;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::Ok();
  return Status::Internal(fs::path(argv[0]).filename().string() + " " + (argv.size() > 3 ? argv[3] : "") + ": " + buf);
}

Result<std::unique_ptr<ContainerRuntime>> ContainerRuntime::Open(RuntimeOptions o) {
  std::error_code ec;
  for (const auto& d : {o.state_dir + "/containers", o.run_dir}) {
    fs::create_directories(d, ec);
    if (ec) return Status::Io("create " + d + ": " + ec.message());
  }
  struct statfs sf;
  if (statfs(o.run_dir.c_str(), &sf) != 0) return Status::Io("statfs " + o.run_dir);
  if (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC) {
    std::string opts = "mode=0700,size=" + std::to_string(o.run_tmpfs_mb) + "m";
    if (mount("tmpfs", o.run_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0)
      return Status::Denied("cannot mount a tmpfs on " + o.run_dir + " (" + strerror(errno) +
                            "); secrets must not be written to disk");
  }
  chmod(o.run_dir.c_str(), 0700);
  // Containers run detached (runc exits once the app runs): as a subreaper
  // this process gets each orphaned app as its child, so its exit status.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  for (const auto& d : {o.run_dir + "/bundles", o.run_dir + "/runc"}) fs::create_directories(d, ec);
  std::unique_ptr<ContainerRuntime> rt(new ContainerRuntime(o));
  ImageStore::Options io;
  io.root = o.state_dir + "/images";
  io.default_registry = o.registry;
  io.registry_ca = o.registry_ca;
  io.registry_auth = o.registry_auth;
  io.unpack = o.unpack;
  io.handed_out_grace_ms = o.image_grace_ms;
  auto store = ImageStore::Open(io, &rt->counters_);
  if (!store.ok()) return store.status();
  rt->images_ = std::move(*store);
  return rt;
}

ContainerRuntime::~ContainerRuntime() = default;

void ContainerRuntime::SetNetworkHook(NetworkHook h) {
  std::lock_guard<std::mutex> l(mu_);
  hook_ = std::move(h);
}

void ContainerRuntime::SetReattachHook(ReattachHook h) {
  std::lock_guard<std::mutex> l(mu_);
  reattach_ = std::move(h);
}

ContainerRuntime::ReattachHook ContainerRuntime::reattach_hook() {
  std::lock_guard<std::mutex> l(mu_);
  return reattach_;
}

NetworkHook ContainerRuntime::network_hook() {
  std::lock_guard<std::mutex> l(mu_);
  return hook_;
}

int ContainerRuntime::AllocSubnet() {
  std::lock_guard<std::mutex> l(mu_);
  for (int i = 0; i < 16384; i++)
    if (subnets_.insert(i).second) return i;
  return -1;
}

bool ContainerRuntime::ReserveSubnet(int idx) {
  std::lock_guard<std::mutex> l(mu_);
  return subnets_.insert(idx).second;
}

void ContainerRuntime::FreeSubnet(int idx) {
  std::lock_guard<std::mutex> l(mu_);
  subnets_.erase(idx);
}

void ContainerRuntime::Register(const std::string& id, const std::string& md) {
  std::unique_lock<std::mutex> l(mu_);
  collected_.wait(l, [&] { return !collecting_.count(id); });
  live_[id] = md;
}

void ContainerRuntime::Unregister(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  live_.erase(id);
}

void ContainerRuntime::Cleanup(const std::string& id, bool remove_dir) {
  // runc keeps state only in <root>/<id>; no dir, nothing to delete (and no process to spawn).
  if (access((RuncRoot() + "/" + id).c_str(), F_OK) == 0)
    RunTool({opt_.runc, "--root", RuncRoot(), "delete", "--force", id}, nullptr, 5000);
  std::string rootfs = ContainerDir(id) + "/rootfs";
  for (int i = 0; i < 4 && umount2(rootfs.c_str(), MNT_DETACH) == 0; i++) {
  }
  DeleteNetns(NetnsName(id));
  std::error_code ec;
  // runc removes its own cgroup (<parent>/<id>/c); the per-container parent is ours.
  for (auto& sub : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    std::string base = sub.path().string() + opt_.cgroup_parent + "/" + id;
    rmdir((base + "/c").c_str());
    rmdir(base.c_str());
  }
  fs::remove_all(BundleDir(id), ec);
  if (remove_dir) fs::remove_all(ContainerDir(id), ec);
}

std::string ContainerRuntime::NetnsName(const std::string& id) const {
  return id + "-" + crypto::Sha256Hex(opt_.run_dir).substr(0, 6);
}

namespace {

// Adds to *out the names in `dir` (none if it cannot be read) not in `keep`.
void AddEntriesNotIn(const std::string& dir, const std::set<std::string>& keep, std::set<std::string>* out) {
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (!keep.count(e.path().filename().string())) out->insert(e.path().filename().string());
}

}  // namespace

std::set<std::string> ContainerRuntime::RegisteredAnd(std::set<std::string> ids) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id, md] : live_) ids.insert(id);
  return ids;
}

int ContainerRuntime::GcContainers(const std::set<std::string>& spare) {
  const std::set<std::string> live = RegisteredAnd(spare);
  std::set<std::string> dead;
  for (const auto& dir : {opt_.state_dir + "/containers", BundleDir(""), RuncRoot()}) AddEntriesNotIn(dir, live, &dead);
  // The snapshot above is older than the listing: a container may have
  // registered and made its dir in between. Each id is checked again, and
  // held against Register, while it goes.
  int removed = 0;
  for (const auto& id : dead) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (live_.count(id)) continue;
      collecting_.insert(id);
    }
    Cleanup(id, true);
    removed++;
    {
      std::lock_guard<std::mutex> l(mu_);
      collecting_.erase(id);
    }
    collected_.notify_all();
  }
  if (removed > 0) counters_.Add("container.gc", removed);
  return removed;
}

int ContainerRuntime::GcProxyDirs(const std::set<std::string>& spare) {
  const std::set<std::string> live = RegisteredAnd(spare);
  std::set<std::string> dead;
  AddEntriesNotIn(opt_.run_dir + "/proxy", live, &dead);
  std::error_code ec;
  for (const auto& id : dead) fs::remove_all(ProxyDir(id), ec);
  return static_cast<int>(dead.size());
}

Result<int64_t> ContainerRuntime::GcImages() {
  std::set<std::string> keep;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, md] : live_) keep.insert(md);
  }
  return images_->Gc(keep);
}

}  // namespace rv::container
