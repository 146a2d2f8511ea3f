#include "strider/container/netns.h"

#include "common/crypto/sha256.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace rv::container {

namespace {

// Runs argv with stdin = `input`; returns its stderr on failure.
Status RunCmd(const std::vector<std::string>& argv, const std::string& input = "") {
  int in[2], err[2];
  std::vector<char*> a;  // built before fork: no allocation in the child
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  if (pipe2(in, O_CLOEXEC) != 0) return Status::Io("pipe failed");
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return Status::Io("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) return Status::Io("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(err[1]);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(err[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(err[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::Ok();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return Status::Internal(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + out);
}

const char* kIp = "/usr/sbin/ip";
const char* kIpAlt = "/sbin/ip";
std::string IpBin() { return access(kIp, X_OK) == 0 ? kIp : kIpAlt; }

}  // namespace

namespace {

constexpr const char* kNetnsDir = "/var/run/netns";

// What `ip netns add` does once: the netns dir is a shared mount point, so a
// netns bound there shows in every mount namespace that shares it.
bool NetnsDirReady() {
  mkdir(kNetnsDir, 0755);
  if (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return true;
  if (errno != EINVAL) return false;
  return mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) == 0 &&
         mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0;
}

// `ip netns add` + `ip -n <name> link set lo up`, without a process: a
// thread of our own enters a new netns (setns and unshare are per thread),
// brings lo up and binds its netns to <dir>/<name>. False (nothing left
// behind) when any step fails; the caller then uses ip.
bool AddNetnsInProcess(const std::string& path) {
  static const bool ready = NetnsDirReady();
  if (!ready) return false;
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return false;
  close(fd);
  bool ok = false;
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) != 0) return;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return;
    ifreq ifr{};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && ((ifr.ifr_flags |= IFF_UP), ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
    close(s);
    ok = up && mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) == 0;
  });
  t.join();
  if (!ok) unlink(path.c_str());
  return ok;
}

}  // namespace

Result<NetnsInfo> CreateNetns(const std::string& name, bool veth, const std::string& pool_prefix, int idx) {
  NetnsInfo ns;
  ns.name = name;
  ns.path = std::string(kNetnsDir) + "/" + name;
  std::string ip = IpBin();
  // Without a veth (the overlay plumbs the container's eth0 itself) the netns
  // needs only lo: made here without running ip twice per container.
  if (!veth && AddNetnsInProcess(ns.path)) return ns;
  Status s = RunCmd({ip, "netns", "add", name});
  if (!s.ok()) return s;
  std::string inside = "link set lo up\n";
  if (veth) {
    // Interface names are at most 15 chars: "rv" + 13 hex of the netns name.
    ns.host_if = "rv" + crypto::Sha256Hex(name).substr(0, 13);
    std::string host = "link add " + ns.host_if + " type veth peer name eth0 netns " + name + "\n" +
                       "link set " + ns.host_if + " up\n";
    if (idx >= 0) {
      int base = idx * 4;
      std::string net = pool_prefix + "." + std::to_string((base >> 8) & 255) + ".";
      ns.host_ip = net + std::to_string((base & 255) + 1);
      ns.container_ip = net + std::to_string((base & 255) + 2);
      host += "addr add " + ns.host_ip + "/30 dev " + ns.host_if + "\n";
      inside += "addr add " + ns.container_ip + "/30 dev eth0\nlink set eth0 up\nroute add default via " +
                ns.host_ip + "\n";
    } else {
      inside += "link set eth0 up\n";
    }
    s = RunCmd({ip, "-batch", "-"}, host);
    if (!s.ok()) {
      DeleteNetns(name);
      return s;
    }
  }
  s = RunCmd({ip, "-n", name, "-batch", "-"}, inside);
  if (!s.ok()) {
    DeleteNetns(name);
    return s;
  }
  return ns;
}

Status DeleteNetns(const std::string& name) {
  const std::string path = std::string(kNetnsDir) + "/" + name;
  if (access(path.c_str(), F_OK) != 0) return Status::Ok();
  // What `ip netns delete` does: the netns goes (with its veths) once
  // nothing holds it.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) return RunCmd({IpBin(), "netns", "delete", name});
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::Io("remove " + path + ": " + strerror(errno));
  return Status::Ok();
}

Status InNetns(const std::string& path, const std::function<void()>& fn) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("netns " + path + ": " + strerror(errno));
  Status st;
  // A fresh thread: changing its netns cannot leak into the caller's thread.
  std::thread t([&] {
    if (setns(fd, CLONE_NEWNET) != 0) {
      st = Status::Io(std::string("setns: ") + strerror(errno));
      return;
    }
    fn();
  });
  t.join();
  close(fd);
  return st;
}

namespace {
// Connects to 127.0.0.1:port with a timeout; returns the socket or -1 and an error.
int ConnectLocal(int port, int timeout_ms, std::string* err) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *err = strerror(errno);
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    *err = strerror(errno);
    close(s);
    return -1;
  }
  pollfd p{s, POLLOUT, 0};
  if (poll(&p, 1, timeout_ms) != 1) {
    *err = "connect timed out";
    close(s);
    return -1;
  }
  int e = 0;
  socklen_t l = sizeof e;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
  if (e != 0) {
    *err = strerror(e);
    close(s);
    return -1;
  }
  return s;
}
}  // namespace

Status ProbeTcp(const std::string& netns_path, int port, int timeout_ms) {
  std::string err;
  Status st = InNetns(netns_path, [&] {
    int s = ConnectLocal(port, timeout_ms, &err);
    if (s >= 0) close(s);
  });
  if (!st.ok()) return st;
  if (!err.empty()) return Status::Unavailable("tcp :" + std::to_string(port) + ": " + err);
  return Status::Ok();
}

Status ProbeHttp(const std::string& netns_path, int port, const std::string& path, int timeout_ms) {
  std::string err, resp;
  Status st = InNetns(netns_path, [&] {
    int s = ConnectLocal(port, timeout_ms, &err);
    if (s < 0) return;
    std::string req = "GET " + (path.empty() || path[0] != '/' ? "/" + path : path) +
                      " HTTP/1.0\r\nHost: localhost\r\nUser-Agent: rivendell-health\r\n\r\n";
    if (send(s, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      err = "send failed";
      close(s);
      return;
    }
    pollfd p{s, POLLIN, 0};
    char buf[256];
    while (resp.size() < 12 && poll(&p, 1, timeout_ms) == 1) {
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n <= 0) break;
      resp.append(buf, n);
    }
    close(s);
  });
  if (!st.ok()) return st;
  if (!err.empty()) return Status::Unavailable("http :" + std::to_string(port) + ": " + err);
  if (resp.size() < 12 || resp.compare(0, 5, "HTTP/") != 0) return Status::Unavailable("http: no HTTP answer");
  char c = resp[9];
  if (c != '2' && c != '3') return Status::Unavailable("http: status " + resp.substr(9, 3));
  return Status::Ok();
}

}  // namespace rv::container
