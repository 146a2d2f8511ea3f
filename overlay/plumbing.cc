#include "overlay/plumbing.h"

#include <fcntl.h>
#include <net/if.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "overlay/attach_batch.h"

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

namespace {

// A started command: its pid and the read end of its stdout+stderr.
struct Spawned {
  pid_t pid = -1;
  int out = -1;
  int rc = 0;  // posix_spawn's error, 0 when it runs
};

// stdin: `input` through a memfd (no pipe to deadlock on), or inherited when null.
Spawned Spawn(const std::vector<std::string>& argv, const std::string* input) {
  Spawned sp;
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  int in = -1;
  if (input) {
    in = memfd_create("rv-batch", MFD_CLOEXEC);
    if (in < 0 || write(in, input->data(), input->size()) != static_cast<ssize_t>(input->size()) ||
        lseek(in, 0, SEEK_SET) != 0) {
      if (in >= 0) close(in);
      sp.rc = errno ? errno : EIO;
      return sp;
    }
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    sp.rc = errno;
    if (in >= 0) close(in);
    return sp;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in >= 0) posix_spawn_file_actions_adddup2(&fa, in, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  sp.rc = posix_spawnp(&sp.pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (in >= 0) close(in);
  if (sp.rc != 0) {
    close(pipefd[0]);
    return sp;
  }
  sp.out = pipefd[0];
  return sp;
}

Status Finish(const std::vector<std::string>& argv, Spawned sp, std::string* output) {
  if (sp.rc != 0) return Status::Io("cannot run " + argv[0] + ": " + strerror(sp.rc));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(sp.out, buf, sizeof(buf))) > 0 && out.size() < (1 << 20)) out.append(buf, n);
  close(sp.out);
  int st = 0;
  while (waitpid(sp.pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (output) *output = out;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return Status::Io("'" + Join(argv) + "' failed: " + out);
  }
  return Status::Ok();
}

}  // namespace

Status RunCmd(const std::vector<std::string>& argv, std::string* output) {
  return Finish(argv, Spawn(argv, nullptr), output);
}

Status RunCmdInput(const std::vector<std::string>& argv, const std::string& input, std::string* output) {
  return Finish(argv, Spawn(argv, &input), output);
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

std::string GatewayChain(const std::string& veth) { return GatewayChainOf(veth); }

Status Ipt(std::vector<std::string> args) {
  std::vector<std::string> v = {"iptables", "-w", "2"};
  v.insert(v.end(), args.begin(), args.end());
  return RunCmd(v);
}

}  // namespace

Status SetGatewayFilter(const std::string& veth, const std::vector<GatewayPort>& gateway_ports) {
  const std::string chain = GatewayChain(veth);
  (void)Ipt({"-N", chain});  // exists already on a re-apply
  Status s;
  if (!(s = Ipt({"-F", chain})).ok()) return Status::Internal("gateway filter on " + veth + ": " + s.message());
  for (auto& r : GatewayRules(gateway_ports)) {
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
    const std::string peer = PeerName(a.addr);
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

namespace {

// Every interface name of this netns (if_nameindex: no process).
std::set<std::string> LinkNames() {
  std::set<std::string> out;
  if (struct if_nameindex* ni = if_nameindex()) {
    for (struct if_nameindex* i = ni; i->if_index != 0; ++i) out.insert(i->if_name);
    if_freenameindex(ni);
  }
  return out;
}

// Veths whose INPUT jump to their gateway chain exists (one iptables -S).
std::set<std::string> JumpedVeths() {
  std::set<std::string> out;
  std::string rules;
  if (!RunCmd({"iptables", "-w", "2", "-S", "INPUT"}, &rules).ok()) return out;
  std::istringstream in(rules);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::vector<std::string> f;
    for (std::string x; w >> x;) f.push_back(x);
    // "-A INPUT -i <veth> -j rvgw-<veth>"
    if (f.size() == 6 && f[0] == "-A" && f[2] == "-i" && f[4] == "-j" && f[5] == GatewayChain(f[3])) out.insert(f[3]);
  }
  return out;
}

// `ip -n NAME` for a netns of /run/netns, nsenter for any other path.
std::vector<std::string> IpBatchIn(const std::string& ns) {
  for (const char* dir : {"/run/netns/", "/var/run/netns/"}) {
    std::string d = dir;
    if (ns.rfind(d, 0) == 0 && ns.find('/', d.size()) == std::string::npos) return {"ip", "-n", ns.substr(d.size()), "-batch", "-"};
  }
  if (ns.find('/') == std::string::npos) return {"ip", "-n", ns, "-batch", "-"};
  return {"nsenter", "--net=" + ns, "ip", "-batch", "-"};
}

}  // namespace

std::vector<Status> AttachContainers(uint32_t env_id, const std::vector<Attachment>& as, int mtu,
                                     const std::vector<GatewayPort>& gateway_ports) {
  std::vector<Status> out(as.size());
  if (as.empty()) return out;
  if (as.size() == 1) {
    out[0] = AttachContainer(env_id, as[0], mtu, gateway_ports);
    return out;
  }
  AttachBatch b = PlanAttachBatch(env_id, as, mtu, gateway_ports, LinkNames(), JumpedVeths());
  auto one_by_one = [&](const std::vector<size_t>& which, const Status& why) {
    spdlog::warn("attaching {} containers in one batch failed ({}); attaching them one by one", which.size(),
                 why.message());
    for (size_t i : which) out[i] = AttachContainer(env_id, as[i], mtu, gateway_ports);
  };
  std::vector<size_t> all(as.size());
  for (size_t i = 0; i < as.size(); ++i) all[i] = i;
  if (!b.host_prepare.empty()) {
    if (Status s = RunCmdInput({"ip", "-batch", "-"}, b.host_prepare); !s.ok()) {
      one_by_one(all, s);
      return out;
    }
  }
  // Inside each netns: one ip each, a few at a time (they are independent).
  std::vector<size_t> failed;
  constexpr size_t kInFlight = 8;
  for (size_t from = 0; from < as.size(); from += kInFlight) {
    std::vector<std::pair<size_t, std::vector<std::string>>> argvs;
    std::vector<Spawned> running;
    for (size_t i = from; i < std::min(as.size(), from + kInFlight); ++i) {
      auto it = b.inside.find(as[i].netns);
      if (as[i].netns.empty() || it == b.inside.end()) continue;
      argvs.emplace_back(i, IpBatchIn(as[i].netns));
      running.push_back(Spawn(argvs.back().second, &it->second));
    }
    for (size_t k = 0; k < running.size(); ++k) {
      Status s = Finish(argvs[k].second, running[k], nullptr);
      if (!s.ok()) {
        out[argvs[k].first] = s;
        failed.push_back(argvs[k].first);
      }
    }
  }
  (void)RunCmdInput({"ip", "-force", "-batch", "-"}, b.host_rule_cleanup);  // most have nothing to delete
  for (const auto& a : as) (void)WriteSysctl("/proc/sys/net/ipv4/conf/" + a.veth + "/rp_filter", "1");
  Status s = RunCmdInput({"ip", "-batch", "-"}, b.host_routes);
  if (s.ok()) s = RunCmdInput({"iptables-restore", "-w", "2", "--noflush"}, b.iptables);
  if (!s.ok()) {
    one_by_one(all, s);
    return out;
  }
  // The rp_filter must hold (anti-spoofing): checked, not assumed.
  for (size_t i = 0; i < as.size(); ++i) {
    std::ifstream f("/proc/sys/net/ipv4/conf/" + as[i].veth + "/rp_filter");
    int v = 0;
    if (!(f >> v) || v != 1) failed.push_back(i);
  }
  if (!failed.empty()) {
    std::sort(failed.begin(), failed.end());
    failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
    one_by_one(failed, out[failed[0]].ok() ? Status::Io("rp_filter not set") : out[failed[0]]);
  }
  return out;
}

}  // namespace rv::overlay
