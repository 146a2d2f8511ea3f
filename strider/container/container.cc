#include "strider/container/container.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/console_job.h"
#include "common/crypto/sealed_box.h"
#include "common/host_layout.h"
#include "strider/container/log_file.h"
#include "strider/container/netns_generation.h"
#include "strider/container/runtime_spec.h"

namespace rv::container {

namespace fs = std::filesystem;

const char* CStateName(CState s) {
  switch (s) {
    case CState::kNone: return "none";
    case CState::kStarting: return "starting";
    case CState::kRunning: return "running";
    case CState::kUnhealthy: return "unhealthy";
    case CState::kExited: return "exited";
    case CState::kFailed: return "failed";
    case CState::kStopped: return "stopped";
  }
  return "?";
}

namespace {

// How long an app's output may wait in its pipe before the container thread
// reads it (see RunOnce): one wake per batch, not per line.
constexpr int64_t kLogBatchMs = 20;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::Io("create " + path + ": " + strerror(errno));
  ssize_t n = write(fd, data.data(), data.size());
  int e = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return Status::Io("write " + path + ": " + strerror(n < 0 ? e : ENOSPC));
  return Status::Ok();
}

// Reads a file of the container's rootfs without ever leaving it: symlinks in
// the image (even absolute ones) are resolved inside `root`. Only a regular
// file is read: a FIFO there would hold the thread (O_NONBLOCK opens it at once).
Result<std::string> ReadInRoot(const std::string& root, const std::string& path) {
  int rfd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return Status::Io("open " + root);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, rfd, path.c_str(), &how, sizeof how));
  close(rfd);
  if (fd < 0) return Status::NotFound(path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Invalid(path + " is not a regular file");
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && out.size() < (1 << 20)) out.append(buf, n);
  close(fd);
  return out;
}

bool ParseId(const std::string& s, uint32_t* v) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + (c - '0');
  }
  if (x > 0xfffffffeULL) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

// Looks a user/group name up in the image's /etc/passwd or /etc/group.
bool LookupName(const std::string& root, const char* file, const std::string& name, uint32_t* id, uint32_t* gid) {
  auto body = ReadInRoot(root, file);
  if (!body.ok()) return false;
  std::istringstream in(*body);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string x;
    while (std::getline(ls, x, ':')) f.push_back(x);
    if (f.size() >= 3 && f[0] == name && ParseId(f[2], id)) {
      if (gid && f.size() >= 4) ParseId(f[3], gid);
      return true;
    }
  }
  return false;
}

}  // namespace

Container::Container(ContainerRuntime& rt, msg::JobSpec spec, std::map<std::string, std::string> secrets, Listener l)
    : rt_(rt), spec_(std::move(spec)), secrets_(std::move(secrets)), listener_(std::move(l)) {
  id_ = ContainerIdFor(spec_.id);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Container::~Container() {
  if (thread_.joinable()) {
    if (!release_) Stop(std::chrono::milliseconds(0));
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
  for (auto& [k, v] : secrets_) crypto::Wipe(v);
}

std::string Container::log_path() const { return host_layout::ConsoleLogPath(rt_.ContainerDir(id_)); }

Status Container::Start() {
  if (thread_.joinable()) return Status::Conflict("container " + id_ + " already started");
  if (spec_.image.empty()) return Status::Invalid("job " + spec_.id + " has no image");
  if (wake_fd_ < 0) return Status::Io("eventfd failed");
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Container::WriteAdoptRecord() {
  std::string rec = image_digest_ + " " + std::to_string(subnet_) + " " + (netns_.host_if.empty() ? "-" : netns_.host_if) +
                    " " + std::to_string(netns_.generation) + "\n";
  (void)WriteFile(rt_.ContainerDir(id_) + "/adopt", rec, 0600);
}

// The next netns generation of this container: never the one its previous
// netns had (the overlay would take the new netns for the old, plumbed one).
int64_t Container::NextNetnsGeneration() {
  std::ifstream rf(rt_.ContainerDir(id_) + "/adopt");
  std::string digest, host_if;
  int subnet = -1;
  int64_t before = 0;
  if (!(rf >> digest >> subnet >> host_if >> before)) before = 0;
  return container::NextNetnsGeneration(before, FreshGenerationSeed());
}

uint64_t Container::FreshGenerationSeed() const {
  return static_cast<uint64_t>(std::hash<std::string>{}(id_)) ^ static_cast<uint64_t>(NowMs());
}

Status Container::Adopt() {
  if (thread_.joinable()) return Status::Conflict("container " + id_ + " already started");
  if (wake_fd_ < 0) return Status::Io("eventfd failed");
  pid_t pid = -1;
  if (access((rt_.RuncRoot() + "/" + id_).c_str(), F_OK) != 0) return Status::NotFound("no runc state for " + id_);
  if (!RuncStateAlive(rt_.RuncRoot() + "/" + id_ + "/state.json", &pid))
    return Status::NotFound("container " + id_ + " is not running");
  std::ifstream rf(rt_.ContainerDir(id_) + "/adopt");
  std::string digest, host_if;
  int subnet = -1;
  if (!(rf >> digest >> subnet >> host_if)) return Status::NotFound("no adopt record for " + id_);
  int64_t generation = 0;
  if (!(rf >> generation)) generation = 0;  // a record from before generations
  std::string rootfs = rt_.ContainerDir(id_) + "/rootfs";
  if (access((rootfs + "/proc").c_str(), F_OK) != 0 && access((rootfs + "/etc").c_str(), F_OK) != 0)
    return Status::NotFound("rootfs of " + id_ + " is not mounted");
  image_digest_ = digest;
  if (subnet >= 0 && !rt_.ReserveSubnet(subnet)) return Status::Conflict("veth block " + std::to_string(subnet) + " is taken");
  subnet_ = subnet;
  mounted_ = true;
  netns_.name = rt_.NetnsName(id_);
  netns_.path = "/var/run/netns/" + netns_.name;
  netns_.container_id = id_;
  netns_.host_if = host_if == "-" ? "" : host_if;
  netns_.generation = generation;
  if (!IsNetnsGeneration(generation)) {
    // Unknown (a record from before generations, or one a strider with the
    // signed-seed bug wrote): the veth is made again once, under a number
    // kept from now on, instead of under a fresh one at every restart.
    netns_.generation = container::NextNetnsGeneration(0, FreshGenerationSeed());
    spdlog::warn("container {}: adopt record has no valid netns generation ({}): its overlay veth is made again as "
                 "generation {}",
                 id_, generation, netns_.generation);
    WriteAdoptRecord();
  }
  rt_.Register(id_, image_digest_);
  if (auto reattach = rt_.reattach_hook(); reattach && !spec_.env.empty()) reattach(netns_, spec_.env);
  for (auto& [k, v] : secrets_) crypto::Wipe(v);  // the running app has its env already
  secrets_.clear();
  adopted_pid_ = pid;
  rt_.counters().Add("container.adopted");
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Container::Release() {
  release_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Container::Stop(std::chrono::milliseconds grace) {
  grace_ms_ = grace.count();
  stop_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

bool Container::WaitDone(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(done_mu_);
  return done_cv_.wait_for(l, timeout, [this] { return done_.load(); });
}

void Container::Emit(CState s, const std::string& detail) {
  state_ = s;
  spdlog::info("container {} ({}): {}{}{}", id_, spec_.id, CStateName(s), detail.empty() ? "" : ": ", detail);
  if (listener_) listener_(s, detail);
}

bool Container::SleepOrStop(int ms) {
  pollfd p{wake_fd_, POLLIN, 0};
  int64_t until = NowMs() + ms;
  while (!stop_) {
    int64_t left = until - NowMs();
    if (left <= 0) return false;
    poll(&p, 1, static_cast<int>(left));
  }
  return true;
}

Status Container::Prepare() {
  PullStats ps;
  auto img = rt_.images().Pull(spec_.image, &ps);
  if (!img.ok()) return img.status();
  image_digest_ = img->manifest_digest;
  rt_.Register(id_, image_digest_);

  // Debris of an earlier life of this job on this host.
  const int64_t generation = NextNetnsGeneration();
  rt_.Cleanup(id_, false);
  std::string dir = rt_.ContainerDir(id_);
  std::error_code ec;
  fs::remove_all(dir + "/upper", ec);
  fs::remove_all(dir + "/work", ec);
  for (const char* d : {"upper", "work", "rootfs"}) {
    fs::create_directories(dir + "/" + d, ec);
    if (ec) return Status::Io("create " + dir + "/" + d + ": " + ec.message());
  }
  // Overlay: the image's layers (topmost first) shared read-only, our own upper.
  std::string lower;
  for (auto it = img->layer_dirs.rbegin(); it != img->layer_dirs.rend(); ++it)
    lower += (lower.empty() ? "" : ":") + *it;
  if (img->layer_dirs.empty()) return Status::Invalid("image " + spec_.image + " has no layers");
  std::string opts = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  if (opts.size() >= 4000) return Status::Invalid("image has too many layers for one overlay mount");
  if (mount("overlay", (dir + "/rootfs").c_str(), "overlay", MS_NODEV, opts.c_str()) != 0)
    return Status::Io("mount overlay for " + id_ + ": " + strerror(errno));
  mounted_ = true;

  auto hook = rt_.network_hook();
  // The hook plumbs an environment's job itself (the overlay's eth0): a
  // default pair would only be made to be deleted.
  const bool veth = rt_.options().veth && !(hook && !spec_.env.empty());
  if (subnet_ < 0 && veth) subnet_ = rt_.AllocSubnet();
  auto ns = CreateNetns(rt_.NetnsName(id_), veth, rt_.options().veth_pool, subnet_);
  if (!ns.ok()) return Status::FromCode(ns.status().code(), "network: " + ns.status().message());
  netns_ = *ns;
  netns_.container_id = id_;
  netns_.generation = generation;
  if (hook) {
    Status hs = hook(netns_, spec_.env);
    if (!hs.ok()) return Status::FromCode(hs.code(), "network hook: " + hs.message());
  }
  WriteAdoptRecord();
  return WriteBundle(*img);
}

Status Container::WriteBundle(const Image& img) {
  const auto& o = rt_.options();
  std::string bundle = rt_.BundleDir(id_);
  std::error_code ec;
  fs::create_directories(bundle, ec);
  if (ec) return Status::Io("create bundle " + bundle + ": " + ec.message());
  chmod(bundle.c_str(), 0700);
  std::string rootfs = rt_.ContainerDir(id_) + "/rootfs";

  SpecInput in;
  in.rootfs = rootfs;
  const auto& cfg = img.config;
  if (!spec_.command.empty()) {
    in.args = spec_.command;
  } else {
    in.args = cfg.entrypoint;
    in.args.insert(in.args.end(), cfg.cmd.begin(), cfg.cmd.end());
  }
  if (in.args.empty()) return Status::Invalid("image " + spec_.image + " has no entrypoint/cmd and the job no command");
  in.cwd = cfg.working_dir.empty() ? "/" : cfg.working_dir;

  // The app never runs as root: a root or unknown image user gets the default uid.
  in.uid = o.default_uid;
  in.gid = o.default_gid;
  if (!cfg.user.empty()) {
    std::string u = cfg.user.substr(0, cfg.user.find(':'));
    std::string g = cfg.user.find(':') == std::string::npos ? "" : cfg.user.substr(cfg.user.find(':') + 1);
    uint32_t uid = 0, gid = o.default_gid;
    bool have = ParseId(u, &uid) || LookupName(rootfs, "/etc/passwd", u, &uid, &gid);
    if (have && uid != 0) {
      in.uid = uid;
      in.gid = gid;
      if (!g.empty()) {
        uint32_t gg;
        if (ParseId(g, &gg) || LookupName(rootfs, "/etc/group", g, &gg, nullptr)) in.gid = gg;
      }
      if (in.gid == 0) in.gid = o.default_gid;
    }
  }

  std::map<std::string, std::string> env;
  for (const auto& kv : cfg.env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!env.count("PATH")) env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env["HOSTNAME"] = spec_.app.empty() ? id_ : spec_.app;
  for (const auto& [k, v] : spec_.config) env[k] = v;
  if (spec_.port > 0) env["PORT"] = std::to_string(spec_.port);
  env["RV_JOB_ID"] = spec_.id;
  env["RV_APP"] = spec_.app;
  env["RV_ENV"] = spec_.env;
  for (const auto& [k, v] : secrets_) env[k] = v;
  for (auto& [k, v] : env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
      return Status::Invalid("bad environment variable name");
    in.env.push_back(k + "=" + v);
  }
  for (auto& [k, v] : env) crypto::Wipe(v);
  in.hostname = env.count("HOSTNAME") ? (spec_.app.empty() ? id_.substr(0, 63) : spec_.app.substr(0, 63)) : "app";
  in.netns_path = netns_.path;
  in.cgroups_path = o.cgroup_parent + "/" + id_ + "/c";
  memory_limit_mb_ = spec_.resources.ram_mb > 0 ? spec_.resources.ram_mb : o.default_memory_mb;
  in.memory_bytes = memory_limit_mb_ << 20;
  // The memory limit that bites is on <parent>/<id>, our own cgroup, which
  // outlives runc's, so its failcnt is still readable after the exit (see
  // RunOnce). runc's own limit on the child sits 1 MB above as a backstop.
  std::string memcg = "/sys/fs/cgroup/memory" + o.cgroup_parent + "/" + id_;
  std::error_code mec;
  fs::create_directories(memcg, mec);
  {
    std::ofstream lim(memcg + "/memory.limit_in_bytes");
    lim << in.memory_bytes;
    lim.flush();
    if (!lim) return Status::Io("cannot set the memory limit in " + memcg);
  }
  if (access((memcg + "/memory.memsw.limit_in_bytes").c_str(), W_OK) == 0) {
    std::ofstream sw(memcg + "/memory.memsw.limit_in_bytes");
    sw << in.memory_bytes;
  }
  in.memory_bytes += 1 << 20;
  const CpuLimits cpu = CpuLimitsFor(spec_.resources.cpu_millis);
  in.cpu_quota_us = cpu.quota_us;
  in.cpu_shares = cpu.shares;
  in.pids_limit = o.pids_limit;
  in.nofile = o.nofile;

  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
  // The hostname always resolves here, as on Debian (127.0.1.1 without an
  // address of its own yet: an overlay container gets its address from
  // overlayd later). Else a lookup of it (Python's HTTPServer does one
  // before it listens) waits for a nameserver the container cannot reach: 5 s.
  hosts += (netns_.container_ip.empty() ? std::string("127.0.1.1") : netns_.container_ip) + "\t" + in.hostname + "\n";
  std::string resolv;
  {
    std::ifstream f("/etc/resolv.conf");
    std::stringstream ss;
    ss << f.rdbuf();
    resolv = ss.str();
  }
  Status s = WriteFile(bundle + "/hosts", hosts, 0644);
  if (s.ok()) s = WriteFile(bundle + "/hostname", in.hostname + "\n", 0644);
  if (s.ok()) s = WriteFile(bundle + "/resolv.conf", resolv, 0644);
  if (!s.ok()) return s;
  in.etc_files = {{"/etc/hosts", bundle + "/hosts"}, {"/etc/hostname", bundle + "/hostname"},
                  {"/etc/resolv.conf", bundle + "/resolv.conf"}};
  if (spec_.kind == "proxy") {
    // Its configuration and keys, written by the strider (strider/proxy_workload.h).
    in.extra_mounts.push_back({"/run/proxy", "bind", rt_.ProxyDir(id_), {"rbind", "rw", "nosuid", "nodev", "noexec"}});
  }
  // Sauron lets only UTF-8 text into a spec or a config var; one stored before
  // it checked must fail this container, not throw out of the strider.
  std::string doc;
  try {
    doc = BuildRuntimeSpec(in).dump();
  } catch (const nlohmann::json::exception&) {
    for (auto& e : in.env) crypto::Wipe(e);
    return Status::Invalid("the container's command, environment or config vars hold text that is not UTF-8");
  }
  for (auto& e : in.env) crypto::Wipe(e);
  s = WriteFile(bundle + "/config.json", doc, 0600);
  crypto::Wipe(doc);
  if (!s.ok()) return s;  // keep the secrets: a retried Prepare writes the bundle again
  // The secrets now live only in the tmpfs bundle; drop our copy.
  for (auto& [k, v] : secrets_) crypto::Wipe(v);
  secrets_.clear();
  return s;
}

pid_t Container::Launch(int* log_fd, std::string* detail) {
  const auto& o = rt_.options();
  std::string bundle = rt_.BundleDir(id_);
  std::string pidfile = bundle + "/pid", fifo = bundle + "/stdio";
  unlink(pidfile.c_str());
  // A previous run's state (a detached container's stays until deleted).
  if (access((rt_.RuncRoot() + "/" + id_).c_str(), F_OK) == 0)
    RunTool({o.runc, "--root", rt_.RuncRoot(), "delete", "--force", id_}, nullptr, 5000);
  unlink(fifo.c_str());
  if (mkfifo(fifo.c_str(), 0600) != 0) {
    *detail = "mkfifo " + fifo + ": " + strerror(errno);
    return -1;
  }
  // Ours to read; the app's end is opened read-write so it holds a reader
  // too and never gets EPIPE while no strider drains it.
  int rfd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  int wfd = rfd < 0 ? -1 : open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  if (rfd < 0 || wfd < 0) {
    *detail = "open " + fifo + ": " + strerror(errno);
    if (rfd >= 0) close(rfd);
    return -1;
  }
  fcntl(rfd, F_SETPIPE_SZ, 1 << 20);
  // A console job's stdin: a FIFO whose write end the log server feeds with
  // what rv run sends (console_input.h); every other app reads /dev/null.
  int in_r = -1, in_w = -1;
  if (spec_.kind == kConsoleJobKind) {
    std::string in_fifo = bundle + "/stdin";
    unlink(in_fifo.c_str());
    if (mkfifo(in_fifo.c_str(), 0600) == 0) {
      in_r = open(in_fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      in_w = in_r < 0 ? -1 : open(in_fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    }
    if (in_r < 0 || in_w < 0) {
      *detail = "stdin FIFO " + in_fifo + ": " + strerror(errno);
      if (in_r >= 0) close(in_r);
      close(rfd);
      close(wfd);
      return -1;
    }
    fcntl(in_r, F_SETFL, 0);  // the app's reads block until input or EOF
    fcntl(in_w, F_SETPIPE_SZ, 1 << 20);
  }
  std::vector<std::string> argv = {o.runc, "--root", rt_.RuncRoot(), "run", "--detach", "--bundle", bundle,
                                   "--pid-file", pidfile, "--no-new-keyring", id_};
  if (pass_fd_ >= 0) argv.insert(argv.end() - 1, {"--preserve-fds", "1"});
  std::vector<char*> a;
  for (auto& x : argv) a.push_back(x.data());
  a.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // a ^C at the strider's terminal must not reach the app
    int devnull = open("/dev/null", O_RDONLY);
    dup2(in_r >= 0 ? in_r : devnull, 0);
    dup2(wfd, 1);
    dup2(wfd, 2);
    // Last: devnull or wfd may have landed on 3 (both are dup'ed already).
    // dup2 clears close-on-exec on the copy; the same fd needs it cleared.
    if (pass_fd_ == 3) fcntl(3, F_SETFD, 0);
    else if (pass_fd_ >= 0) dup2(pass_fd_, 3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(wfd);
  if (in_r >= 0) close(in_r);
  if (pid < 0) {
    close(rfd);
    if (in_w >= 0) close(in_w);
    *detail = "fork: " + std::string(strerror(errno));
    return -1;
  }
  *log_fd = rfd;
  // runc returns once the app runs (or failed to); bounded, and a stop kills
  // it. Woken by runc's exit (pidfd) or a stop, not by a timer: 100
  // containers starting at once each polling every 2 ms took CPU from runc.
  int st = 0;
  int64_t deadline = NowMs() + 60000;
  int runc_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (NowMs() > deadline || stop_) kill(pid, SIGKILL);
    pollfd p[2] = {{wake_fd_, POLLIN, 0}, {runc_fd, POLLIN, 0}};
    int wait_ms = runc_fd < 0 ? 2 : static_cast<int>(std::clamp<int64_t>(deadline - NowMs() + 1, 1, 1000));
    poll(p, runc_fd < 0 ? 1 : 2, wait_ms);
  }
  if (runc_fd >= 0) close(runc_fd);
  pid_t app = -1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    std::ifstream pf(pidfile);
    pf >> app;
  }
  if (app <= 0) {
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    // runc's message is what it wrote to the FIFO.
    char buf[4096];
    ssize_t n = read(rfd, buf, sizeof buf);
    std::string tail = n > 0 ? std::string(buf, n) : "";
    while (!tail.empty() && tail.back() == '\n') tail.pop_back();
    if (auto nl = tail.rfind('\n'); nl != std::string::npos) tail = tail.substr(nl + 1);
    *detail = "runc could not start the container (exit " + std::to_string(code) + "): " + tail.substr(0, 300);
    if (in_w >= 0) close(in_w);
    return -1;
  }
  if (in_w >= 0) rt_.console_inputs().Register(spec_.id, in_w);  // by job id, as rv names it
  return app;
}

Container::RunOutcome Container::RunOnce() {
  RunOutcome outcome;
  const auto& o = rt_.options();
  int out = -1;
  pid_t app = -1;
  bool adopted = adopted_pid_ > 0;
  if (adopted) {
    app = adopted_pid_;
    adopted_pid_ = -1;
    out = open((rt_.BundleDir(id_) + "/stdio").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } else {
    app = Launch(&out, &outcome.detail);
    if (app <= 0) {
      if (out >= 0) {
        LogFile log(log_path(), o.log_max_bytes, o.log_keep);
        (void)log.Append(outcome.detail.data(), outcome.detail.size());
        close(out);
      }
      outcome.failed = true;
      outcome.permanent = true;  // here: "did not start", reported as failed rather than exited
      rt_.counters().Add("container.start_failed");
      return outcome;
    }
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, app, 0));
  LogFile log(log_path(), o.log_max_bytes, o.log_keep);
  // The memory limit sits on <parent>/<id>, our own cgroup, which outlives
  // runc's (<parent>/<id>/c). An app SIGKILLed by nobody we know of after its
  // memcg's peak usage reached the limit was killed by the kernel's OOM killer
  // (cgroup v1 counts oom_kill only in the victim's own memcg, gone by the
  // time we look, and this kernel leaves failcnt at 0; the peak, which we
  // reset per run, is reliable).
  std::string memcg = "/sys/fs/cgroup/memory" + o.cgroup_parent + "/" + id_;
  auto read_num = [&memcg](const char* f) -> int64_t {
    std::ifstream in(memcg + "/" + f);
    int64_t v = -1;
    in >> v;
    return v;
  };
  if (!adopted) {
    std::ofstream reset(memcg + "/memory.max_usage_in_bytes");
    reset << 0;
  }
  app_pid_ = app;
  started_ms_ = NowMs();
  bool exited = pidfd < 0 && kill(app, 0) != 0, killed = false, termed = false, status_known = false;
  int wstatus = 0;
  int64_t run_start = NowMs(), next_probe = NowMs(), term_at = 0;
  int probe_failures = 0;
  bool healthy = false;
  int port = spec_.health.tcp_port > 0 ? spec_.health.tcp_port : spec_.port;
  int interval = spec_.health.interval_ms > 0 ? spec_.health.interval_ms : 1000;
  int timeout = spec_.health.timeout_ms > 0 ? spec_.health.timeout_ms : 500;
  if (port <= 0 && !stop_ && !exited)
    Emit(CState::kRunning, (adopted ? "adopted pid " : "pid ") + std::to_string(app));
  // Where a start's time goes (image and runc before, the app's boot after): bench/push_to_live.
  if (port > 0 && !adopted) spdlog::info("container {} ({}): process started (pid {}), probing port {}", id_, spec_.id, app, port);
  // 1 MB of output may wait in the pipe between two reads (the default 64 KB
  // would block a chatty app sooner; best effort).
  if (out >= 0) (void)fcntl(out, F_SETPIPE_SZ, 1 << 20);
  int64_t next_drain = 0;
  char buf[65536];
  auto drain = [&] {
    if (out < 0) return true;
    for (int i = 0; i < 64; i++) {
      ssize_t n = read(out, buf, sizeof buf);
      if (n <= 0) return n == 0;
      Status ls = log.Append(buf, n);
      if (!ls.ok()) rt_.counters().Add("container.log_write_failed");
    }
    return false;
  };
  auto reap = [&] {
    pid_t r = waitpid(app, &wstatus, WNOHANG);
    if (r == app) {
      status_known = true;
      return true;
    }
    // Not our child (adopted: its parent is init now): gone is all we know.
    return r < 0 && errno == ECHILD && kill(app, 0) != 0;
  };

  while (!exited) {
    int64_t now = NowMs();
    int wait_ms = 1000;
    if (pidfd < 0) wait_ms = 100;  // no pidfd: poll the pid
    if (port > 0) wait_ms = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(wait_ms, next_probe - now)));
    if (release_) break;
    if (stop_ && !termed) {
      termed = true;
      term_at = now;
      RunTool({o.runc, "--root", rt_.RuncRoot(), "kill", id_, "TERM"}, nullptr, 5000);
    }
    if (termed && !killed && now - term_at >= grace_ms_) {
      killed = true;
      RunTool({o.runc, "--root", rt_.RuncRoot(), "kill", "--all", id_, "KILL"}, nullptr, 5000);
    }
    if (killed && now - term_at >= grace_ms_ + 5000) kill(app, SIGKILL);  // runc could not
    if (termed) wait_ms = std::min<int64_t>(wait_ms, std::max<int64_t>(1, term_at + grace_ms_ - now + 1));
    if (termed && killed) wait_ms = 100;

    // The app's output is read at most every kLogBatchMs: an app that logs a
    // line per request (an env proxy's access log) would otherwise wake this
    // thread once per request; the pipe holds what comes meanwhile.
    const bool watch_out = out >= 0 && now >= next_drain;
    if (out >= 0 && !watch_out) wait_ms = static_cast<int>(std::min<int64_t>(wait_ms, next_drain - now));
    pollfd fds[3] = {{pidfd, POLLIN, 0}, {watch_out ? out : -1, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    poll(fds, 3, std::max(0, wait_ms));
    if (fds[2].revents & POLLIN) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof v);
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      drain();
      next_drain = NowMs() + kLogBatchMs;
    }
    if (port > 0 && !stop_ && NowMs() >= next_probe) {
      Status ps = spec_.health.http_path.empty() ? ProbeTcp(netns_.path, port, timeout)
                                                 : ProbeHttp(netns_.path, port, spec_.health.http_path, timeout);
      if (ps.ok()) {
        probe_failures = 0;
        if (!healthy) {
          healthy = true;
          Emit(CState::kRunning, (adopted ? "adopted pid " + std::to_string(app) + ", healthy on port "
                                          : std::string("healthy on port ")) + std::to_string(port));
        }
        next_probe = NowMs() + interval;
      } else {
        probe_failures++;
        int64_t age = NowMs() - run_start;
        if (healthy && probe_failures >= o.unhealthy_after) {
          healthy = false;
          rt_.counters().Add("container.unhealthy");
          Emit(CState::kUnhealthy, ps.message());
        } else if (!healthy && age > o.start_timeout_ms && state_ != CState::kUnhealthy) {
          Emit(CState::kUnhealthy, "not answering after " + std::to_string(age / 1000) + " s: " + ps.message());
        }
        // Until first healthy, probe fast: it is what decides "running".
        next_probe = NowMs() + (healthy ? interval : 20);
      }
    }
    if ((pidfd >= 0 && (fds[0].revents & POLLIN)) || pidfd < 0) exited = reap();
  }
  for (int i = 0; i < 100 && !drain(); i++) {
    pollfd p{out, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) break;
  }
  if (out >= 0) close(out);
  if (pidfd >= 0) close(pidfd);
  rt_.console_inputs().Unregister(spec_.id);  // the command ended (or is released): no more input
  app_pid_ = -1;
  if (!exited) return outcome;  // released: the app runs on
  int code = !status_known ? -1 : WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  bool oom = false;
  {
    int64_t peak = read_num("memory.max_usage_in_bytes"), limit = read_num("memory.limit_in_bytes");
    oom = !killed && code == 128 + SIGKILL && limit > 0 && peak >= limit - (256 << 10);
  }
  if (oom) {
    outcome.failed = true;
    outcome.detail = "oom-killed at memory limit " + std::to_string(memory_limit_mb_) + " MB";
    rt_.counters().Add("container.oom_killed");
  } else if (code < 0) {
    outcome.failed = true;
    outcome.detail = "exited (status unknown: adopted)";
  } else if (code >= 128) {
    outcome.failed = true;
    outcome.detail = "signal " + std::to_string(code - 128);
  } else {
    outcome.failed = code != 0;
    outcome.detail = "code " + std::to_string(code);
  }
  if (NowMs() - run_start < 1000 && outcome.failed) outcome.detail += " (exited at once)";
  return outcome;
}

void Container::Teardown() {
  rt_.Cleanup(id_, false);
  mounted_ = false;
  if (subnet_ >= 0) rt_.FreeSubnet(subnet_);
  subnet_ = -1;
  rt_.Unregister(id_);
}

void Container::Run() {
  const auto& o = rt_.options();
  const std::string policy = spec_.restart.empty() ? "on-failure" : spec_.restart;
  int backoff = o.backoff_initial_ms;
  // An adopted container's overlay attachment was declared at Adopt (the
  // reattach hook) and still lives in overlayd: nothing to wait for here. A
  // blocking wait would also hold up its Stop when sauron moved the job while
  // the strider was away (its environment then leaves this host's view).
  bool prepared = adopted_pid_ > 0;
  if (!prepared) Emit(CState::kStarting, spec_.image);
  for (;;) {
    if (stop_ || release_) break;
    if (!prepared) {
      Status s = Prepare();
      if (!s.ok()) {
        bool permanent = s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalid ||
                         s.code() == Status::Code::kDenied;
        rt_.counters().Add("container.prepare_failed");
        Emit(CState::kFailed, s.message());
        Teardown();
        if (permanent || policy == "never") break;
        if (SleepOrStop(backoff)) break;
        backoff = std::min(backoff * 2, o.backoff_max_ms);
        Emit(CState::kStarting, "retrying: " + spec_.image);
        continue;
      }
      prepared = true;
    }
    int64_t t0 = NowMs();
    const RunOutcome run = RunOnce();
    const std::string& detail = run.detail;
    if (stop_ || release_) break;
    Emit(run.permanent ? CState::kFailed : CState::kExited, detail);
    bool restart = policy == "always" || (policy == "on-failure" && run.failed);
    if (!restart) break;
    if (NowMs() - t0 >= o.stable_after_ms) backoff = o.backoff_initial_ms;
    if (SleepOrStop(backoff)) break;
    backoff = std::min(backoff * 2, o.backoff_max_ms);
    restarts_++;
    rt_.counters().Add("container.restarts");
    Emit(CState::kStarting, "restart " + std::to_string(restarts_.load()) + " after " + detail);
  }
  if (release_ && !stop_) {
    // Still registered: the container dir, mount, netns and image stay for
    // the next strider, and GC leaves them alone; the next one reserves the
    // veth block again.
    if (subnet_ >= 0) rt_.FreeSubnet(subnet_);
    subnet_ = -1;
  } else {
    Teardown();
  }
  if (stop_) Emit(CState::kStopped, "");
  {
    std::lock_guard<std::mutex> l(done_mu_);
    done_ = true;
  }
  done_cv_.notify_all();
}

}  // namespace rv::container
