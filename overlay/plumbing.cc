#include "overlay/plumbing.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

extern char** environ;

namespace rv::overlay {
namespace {

std::string Table(uint32_t env_id) { return std::to_string(kTableBase + env_id); }

std::string NetnsPath(const std::string& ns) {
  return ns.find('/') == std::string::npos ? "/run/netns/" + ns : ns;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

Status Ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  return RunCmd(args);
}

Status InNs(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {"nsenter", "--net=" + NetnsPath(ns), "ip"});
  return RunCmd(args);
}

}  // namespace

std::string TunName(uint32_t env_id) { return "rvo-" + std::to_string(env_id); }

Status RunCmd(const std::vector<std::string>& argv, std::string* output) {
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return Status::Io("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  std::string out;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof(buf))) > 0 && out.size() < (1 << 20)) out.append(buf, n);
  }
  close(pipefd[0]);
  if (rc != 0) return Status::Io("cannot run " + argv[0] + ": " + strerror(rc));
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (output) *output = out;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return Status::Io("'" + Join(argv) + "' failed: " + out);
  }
  return Status::Ok();
}

Status WriteSysctl(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  if (!f) return Status::Io("cannot open " + path);
  f << value;
  f.close();
  if (!f) return Status::Io("cannot write " + path);
  return Status::Ok();
}

Status SetupEnvNet(uint32_t env_id, const std::string& tun, const Prefix& subnet, const Prefix& pod,
                   int mtu) {
  std::string t = Table(env_id), sub = FormatPrefix(subnet);
  Status s = WriteSysctl("/proc/sys/net/ipv4/ip_forward", "1");
  if (!s.ok()) return s;
  // IPv4 only, and before the link is up: IPv6 would send router and
  // multicast listener solicitations into the tunnel, where overlayd can
  // only drop them.
  (void)WriteSysctl("/proc/sys/net/ipv6/conf/" + tun + "/disable_ipv6", "1");
  if (!(s = Ip({"link", "set", "dev", tun, "mtu", std::to_string(mtu), "up"})).ok()) return s;
  // No gso_max_size cap here: the kernel would segment every larger superpacket
  // in software before the TUN. A sealed 64 KB superpacket that exceeds one UDP
  // GSO send simply leaves in two (see Device::TxLoop).
  if (!(s = Ip({"route", "replace", sub, "dev", tun})).ok()) return s;
  if (!(s = Ip({"route", "replace", sub, "dev", tun, "table", t})).ok()) return s;
  if (!(s = Ip({"route", "replace", "unreachable", FormatPrefix(pod), "table", t})).ok()) return s;
  // Nor anything outside the pod range (the underlay, other hosts' services,
  // the control plane): a container reaches its env and its own gateway only.
  if (!(s = Ip({"route", "replace", "unreachable", "default", "table", t})).ok()) return s;
  while (Ip({"rule", "del", "iif", tun, "lookup", t, "pref", "100"}).ok()) {
  }
  if (!(s = Ip({"rule", "add", "iif", tun, "lookup", t, "pref", "100"})).ok()) return s;
  // Clamp the MSS of SYNs entering the tunnel to its MTU, so TCP from a
  // container whose veth has a larger MTU never depends on ICMP reaching it.
  // Best effort: the kernel's ICMP "fragmentation needed" is the fallback.
  for (const char* dir : {"-o", "-i"}) {
    std::vector<std::string> rule = {"-t", "mangle", "FORWARD", dir, tun, "-p", "tcp", "--tcp-flags",
                                     "SYN,RST", "SYN", "-j", "TCPMSS", "--clamp-mss-to-pmtu"};
    auto with = [&](const char* op) {
      std::vector<std::string> v = {"iptables", "-w", "2"};
      v.insert(v.end(), rule.begin(), rule.begin() + 2);
      v.push_back(op);
      v.insert(v.end(), rule.begin() + 2, rule.end());
      return v;
    };
    if (!RunCmd(with("-C")).ok()) {
      Status c = RunCmd(with("-A"));
      if (!c.ok()) spdlog::warn("MSS clamp on {} not installed: {}", tun, c.message());
    }
  }
  return Status::Ok();
}

void TeardownEnvNet(uint32_t env_id, const std::string& tun) {
  std::string t = Table(env_id);
  for (int i = 0; i < 16 && Ip({"rule", "del", "iif", tun, "lookup", t, "pref", "100"}).ok(); i++) {
  }
  (void)Ip({"route", "flush", "table", t});
  for (const char* dir : {"-o", "-i"})
    (void)RunCmd({"iptables", "-w", "2", "-t", "mangle", "-D", "FORWARD", dir, tun, "-p", "tcp", "--tcp-flags",
                  "SYN,RST", "SYN", "-j", "TCPMSS", "--clamp-mss-to-pmtu"});
}

namespace {

std::string GatewayChain(const std::string& veth) { return "rvgw-" + veth; }

Status Ipt(std::vector<std::string> args) {
  std::vector<std::string> v = {"iptables", "-w", "2"};
  v.insert(v.end(), args.begin(), args.end());
  return RunCmd(v);
}

}  // namespace

Status SetGatewayFilter(const std::string& veth, const std::vector<GatewayPort>& gateway_ports) {
  const std::string chain = GatewayChain(veth), gw = std::string(kGateway) + "/32";
  (void)Ipt({"-N", chain});  // exists already on a re-apply
  Status s;
  if (!(s = Ipt({"-F", chain})).ok()) return Status::Internal("gateway filter on " + veth + ": " + s.message());
  std::vector<std::vector<std::string>> rules = {
      {"!", "-d", gw, "-j", "DROP"},
      {"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
      {"-p", "icmp", "--icmp-type", "echo-request", "-j", "ACCEPT"},
  };
  for (const auto& p : gateway_ports)
    rules.push_back({"-p", p.proto, "--dport", std::to_string(p.port), "-j", "ACCEPT"});
  rules.push_back({"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"});
  rules.push_back({"-j", "REJECT", "--reject-with", "icmp-port-unreachable"});
  for (auto& r : rules) {
    r.insert(r.begin(), {"-A", chain});
    if (!(s = Ipt(r)).ok()) return Status::Internal("gateway filter on " + veth + ": " + s.message());
  }
  if (!Ipt({"-C", "INPUT", "-i", veth, "-j", chain}).ok()) {
    if (!(s = Ipt({"-I", "INPUT", "-i", veth, "-j", chain})).ok())
      return Status::Internal("gateway filter on " + veth + ": " + s.message());
  }
  return Status::Ok();
}

Status AttachContainer(uint32_t env_id, const Attachment& a, int mtu, const std::vector<GatewayPort>& gateway_ports) {
  std::string t = Table(env_id), addr = FormatAddr(a.addr), m = std::to_string(mtu);
  Status s;
  if (!a.netns.empty()) {
    char peer[16];
    snprintf(peer, sizeof(peer), "rvp%08x", a.addr);
    (void)Ip({"link", "del", a.veth});  // debris of an earlier run
    (void)Ip({"link", "del", peer});    // ... or of a failed attach (the peer never moved)
    if (!(s = Ip({"link", "add", a.veth, "mtu", m, "type", "veth", "peer", "name", peer, "mtu", m})).ok())
      return s;
    if (!(s = Ip({"link", "set", peer, "netns", NetnsPath(a.netns)})).ok()) return s;
    for (auto& cmd : std::vector<std::vector<std::string>>{
             {"link", "set", "lo", "up"},
             {"link", "set", peer, "name", a.ifname},
             {"link", "set", a.ifname, "up"},
             {"addr", "add", addr + "/32", "dev", a.ifname},
             {"route", "add", kGateway, "dev", a.ifname, "scope", "link"},
             {"route", "replace", "default", "via", kGateway, "dev", a.ifname}}) {
      if (!(s = InNs(a.netns, cmd)).ok()) return s;
    }
  }
  if (!(s = Ip({"link", "set", a.veth, "mtu", m, "up"})).ok()) return s;
  (void)Ip({"addr", "replace", std::string(kGateway) + "/32", "dev", a.veth, "scope", "link"});
  if (!(s = WriteSysctl("/proc/sys/net/ipv4/conf/" + a.veth + "/rp_filter", "1")).ok()) return s;
  if (!(s = Ip({"route", "replace", addr + "/32", "dev", a.veth})).ok()) return s;
  if (!(s = Ip({"route", "replace", addr + "/32", "dev", a.veth, "table", t})).ok()) return s;
  while (Ip({"rule", "del", "iif", a.veth, "lookup", t, "pref", "100"}).ok()) {
  }
  if (!(s = Ip({"rule", "add", "iif", a.veth, "lookup", t, "pref", "100"})).ok()) return s;
  // Local delivery (the local table) comes before any rule: without this a
  // container could reach every address of its host (underlay included).
  // Only the gateway address is open to it, and only on the allowed ports.
  if (Status g = SetGatewayFilter(a.veth, gateway_ports); !g.ok()) return g;
  return Status::Ok();
}

void DetachContainer(uint32_t env_id, const Attachment& a) {
  std::string t = Table(env_id), addr = FormatAddr(a.addr);
  for (int i = 0; i < 16 && Ip({"rule", "del", "iif", a.veth, "lookup", t, "pref", "100"}).ok(); i++) {
  }
  (void)Ip({"route", "del", addr + "/32", "dev", a.veth, "table", t});
  (void)Ip({"route", "del", addr + "/32", "dev", a.veth});
  for (int i = 0; i < 4 && Ipt({"-D", "INPUT", "-i", a.veth, "-j", GatewayChain(a.veth)}).ok(); i++) {
  }
  (void)Ipt({"-F", GatewayChain(a.veth)});
  (void)Ipt({"-X", GatewayChain(a.veth)});
  // The single DROP rule of earlier versions.
  for (int i = 0; i < 4; i++) {
    if (!Ipt({"-D", "INPUT", "-i", a.veth, "!", "-d", std::string(kGateway) + "/32", "-j", "DROP"}).ok()) break;
  }
  if (!a.netns.empty()) (void)Ip({"link", "del", a.veth});
}

}  // namespace rv::overlay
