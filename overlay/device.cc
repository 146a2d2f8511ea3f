#include "overlay/device.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "overlay/lane.h"
#include "overlay/lane_priority.h"
#include "overlay/plumbing.h"
#include "overlay/steering.h"

namespace rv::overlay {
namespace {

// The CPUs this process may run on, in order, at most `max`.
std::vector<int> AllowedCpus(int max) {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE && int(cpus.size()) < max; c++)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

uint64_t WallClockNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

Device::Device(Options o)
    : opt_(o), windows_(std::make_unique<ReplayWindows>()), counter_(WallClockNs()) {
  snap_ = std::make_shared<Snapshot>();
  int want = opt_.lanes > 0 ? std::min(opt_.lanes, kMaxLanes) : kMaxLanes;
  lane_cpus_ = AllowedCpus(want);
  if (opt_.lanes > int(lane_cpus_.size())) {  // more lanes than CPUs: unpinned extra lanes
    while (int(lane_cpus_.size()) < std::min(opt_.lanes, kMaxLanes)) lane_cpus_.push_back(-1);
  }
}

Device::~Device() {
  Stop();
  if (opt_.plumb) {
    for (auto& [id, e] : envs_) {
      for (auto& a : e.attached) DetachContainer(id, a);
      TeardownEnvNet(id, e.tun ? e.tun->name() : TunName(id));
    }
  }
  if (tun_steering_fd_ >= 0) close(tun_steering_fd_);
}

void Device::Stop() {
  stop_ = true;
  for (auto& l : lanes_)
    if (l->thread.joinable()) l->thread.join();
}

Status Device::OpenLanes(const ControlConfig& c) {
  if (opened_) {
    if (c.listen_addr != listen_addr_ || c.listen_port != listen_port_)
      return Status::Invalid("listen endpoint cannot change without a restart");
    return Status::Ok();
  }
  const int n = int(lane_cpus_.size());
  if (n > 1) {
    // A SO_REUSEPORT group would let a second overlayd on this port share our
    // traffic silently; a plain bind first makes that an error, as for one lane.
    auto probe = UdpSocket::Open(c.listen_addr, c.listen_port, 100);
    if (!probe.ok()) return probe.status();
  }
  std::vector<std::unique_ptr<Lane>> lanes;
  for (int i = 0; i < n; i++) {
    auto l = std::make_unique<Lane>();
    l->index = i;
    l->cpu = n > 1 ? lane_cpus_[size_t(i)] : -1;
    auto s = UdpSocket::Open(c.listen_addr, c.listen_port, 100, n > 1);
    if (!s.ok()) return s.status();
    l->sock.emplace(std::move(*s));
    if (!opt_.udp_gso) l->sock->DisableGso();
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) return Status::Io(std::string("epoll_create1: ") + strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = l->sock->fd();
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sock->fd(), &ev);
    lanes.push_back(std::move(l));
  }
  std::string steering = "none (one lane)";
  if (n > 1) {
    Status s = AttachUdpCpuSteering(lanes[0]->sock->fd(), lane_cpus_);
    auto prog = LoadTunCpuSteering(lane_cpus_);
    if (prog.ok()) tun_steering_fd_ = *prog;
    if (!s.ok() || !prog.ok()) {
      steering = "partial: " + (s.ok() ? prog.status().ToString() : s.ToString());
      spdlog::warn("lane steering: {}; packets may wake a lane on another CPU", steering);
    } else {
      steering = "by CPU";
    }
  }
  lanes_ = std::move(lanes);
  opened_ = true;
  listen_addr_ = c.listen_addr;
  listen_port_ = c.listen_port;
  std::string cpus;
  for (int cpu : lane_cpus_) cpus += (cpus.empty() ? "" : ",") + (cpu < 0 ? std::string("any") : std::to_string(cpu));
  spdlog::info("underlay {}:{} udp_gso={} udp_gro={}; {} lanes on CPUs {}, steering {}",
               FormatAddr(c.listen_addr), c.listen_port, lanes_[0]->sock->gso(), lanes_[0]->sock->gro(),
               n, n > 1 ? cpus : "any", steering);
  return Status::Ok();
}

void Device::Publish(std::shared_ptr<const Snapshot> s) {
  {
    std::lock_guard<std::mutex> l(snap_mu_);
    snap_ = std::move(s);
  }
  gen_.fetch_add(1, std::memory_order_release);
}

void Device::WaitLanesSeen(uint64_t gen) {
  if (!started_) return;
  for (int i = 0; i < 400; i++) {  // lanes wake at least every 100 ms
    bool all = true;
    for (auto& l : lanes_) all &= l->seen.load() >= gen;
    if (all) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  spdlog::warn("datapath lanes did not acknowledge configuration {} in 2 s", gen);
}

namespace {

// The first error of an Apply that goes on past it (every error is logged).
struct ApplyErrors {
  Status first;
  void Note(const Status& s) {
    if (s.ok()) return;
    spdlog::error("apply: {}", s.ToString());
    if (first.ok()) first = s;
  }
};

// The lanes' view of `c`: peers, and per env its ciphers, send key, routes and
// local addresses. A key that cannot be used rejects the whole update.
Result<std::shared_ptr<Snapshot>> BuildSnapshot(const ControlConfig& c) {
  auto snap = std::make_shared<Snapshot>();
  snap->host_id = c.host_id;
  snap->max_datagram = size_t(c.underlay_mtu - 28);
  for (auto& h : c.hosts)
    if (h.id != c.host_id) snap->peers[h.id] = MakeSockaddr(h.addr, h.port);
  for (auto& e : c.envs) {
    EnvState st;
    st.id = e.id;
    st.subnet = e.subnet;
    uint32_t send_epoch = e.send_epoch;
    int n = 0;
    for (auto& k : e.keys) {
      auto a = Aead::Create(k.aead, k.key);
      if (!a.ok()) return Status::Invalid("env " + std::to_string(e.id) + ": " + a.status().message());
      st.epochs[n] = k.epoch;
      st.keys[n] = std::shared_ptr<const Aead>(std::move(*a));
      if (e.send_epoch == 0 && (send_epoch == 0 || k.epoch > send_epoch)) send_epoch = k.epoch;
      n++;
    }
    st.send_epoch = send_epoch;
    for (int i = 0; i < n; i++)
      if (st.epochs[i] == send_epoch) st.send = st.keys[i];
    for (auto& r : e.routes) st.routes[r.addr] = r.host_id;
    for (auto& a : e.attachments) {
      st.local.insert(a.addr);
      st.routes[a.addr] = c.host_id;
    }
    snap->envs[e.id] = std::move(st);
  }
  return snap;
}

}  // namespace

Status Device::Apply(const ControlConfig& c) {
  if (Status s = OpenLanes(c); !s.ok()) {
    metrics_.Add(Metric::kControlRejected);
    return s;
  }
  auto built = BuildSnapshot(c);
  if (!built.ok()) {
    metrics_.Add(Metric::kControlRejected);
    return built.status();
  }
  std::shared_ptr<Snapshot> snap = std::move(*built);
  ApplyErrors errors;
  std::vector<std::unique_ptr<Tun>> graveyard = RemoveGoneEnvs(*snap);
  std::vector<Tun*> new_tuns;  // to watch once the snapshot that knows them is out
  for (auto& e : c.envs) {
    auto it = envs_.find(e.id);
    if (it == envs_.end()) {
      std::vector<Status> plumbing;
      auto rt = OpenEnv(e, c, &plumbing);
      for (const Status& s : plumbing) errors.Note(s);
      if (!rt.ok()) {
        errors.Note(rt.status());
        snap->envs.erase(e.id);
        continue;
      }
      new_tuns.push_back(rt->tun.get());
      it = envs_.emplace(e.id, std::move(*rt)).first;
      spdlog::info("env {} up on {} subnet {}", e.id, it->second.tun->name(), FormatPrefix(e.subnet));
    }
    EnvRuntime& rt = it->second;
    for (int q = 0; q < rt.tun->queues(); q++) {
      snap->envs[e.id].tun_fds.push_back(rt.tun->queue_fd(q));
      snap->env_by_fd[rt.tun->queue_fd(q)] = e.id;
    }
    std::vector<Status> attach;
    SyncAttachments(e, c, rt, &attach);
    for (const Status& s : attach) errors.Note(s);
  }

  Publish(snap);
  // Watched only after Publish: a lane woken by a new TUN must find it in its
  // snapshot, or the IPv6 packets a new link queues leave the fd readable
  // while the lanes spin on a snapshot that does not know it.
  for (Tun* t : new_tuns) WatchTun(*t);
  // Kept for Wipe(): the shape of this host, without the keys (they live
  // only in the Aead objects of the snapshot, which wipe them when dropped).
  current_ = c;
  for (auto& e : current_->envs) WipeKeys(&e.keys);
  uint64_t gen = gen_.load();
  StartLanes();
  if (!graveyard.empty()) WaitLanesSeen(gen);  // then the fds may close
  metrics_.Add(errors.first.ok() ? Metric::kControlApplied : Metric::kControlRejected);
  return errors.first;
}

std::vector<std::unique_ptr<Tun>> Device::RemoveGoneEnvs(const Snapshot& snap) {
  // Environments that left this host: stop reading their TUN first.
  std::vector<std::unique_ptr<Tun>> graveyard;
  for (auto it = envs_.begin(); it != envs_.end();) {
    if (snap.envs.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.tun) {
      for (auto& l : lanes_) epoll_ctl(l->epfd, EPOLL_CTL_DEL, it->second.tun->queue_fd(l->index), nullptr);
    }
    if (opt_.plumb) {
      for (auto& a : it->second.attached) DetachContainer(it->first, a);
      TeardownEnvNet(it->first, it->second.tun ? it->second.tun->name() : TunName(it->first));
    }
    spdlog::info("env {} removed from this host; its keys are forgotten", it->first);
    graveyard.push_back(std::move(it->second.tun));
    it = envs_.erase(it);
  }
  return graveyard;
}

Result<Device::EnvRuntime> Device::OpenEnv(const EnvConfig& e, const ControlConfig& c, std::vector<Status>* errors) {
  EnvRuntime rt;
  rt.subnet = e.subnet;
  auto tun = Tun::Open(TunName(e.id), opt_.offload, int(lanes_.size()));
  if (!tun.ok()) return tun.status();
  rt.tun = std::make_unique<Tun>(std::move(*tun));
  if (tun_steering_fd_ >= 0) {
    if (Status s = AttachTunSteering(rt.tun->fd(), tun_steering_fd_); !s.ok())
      spdlog::warn("env {}: {}; its TUN queues follow the kernel's flow hash", e.id, s.ToString());
  }
  if (opt_.plumb) errors->push_back(SetupEnvNet(e.id, rt.tun->name(), e.subnet, c.pod, c.InnerMtu()));
  return rt;
}

void Device::SyncAttachments(const EnvConfig& e, const ControlConfig& c, EnvRuntime& rt,
                             std::vector<Status>* errors) {
  // Detach what is gone or changed, attach what is new.
  std::vector<Attachment> keep;
  for (auto& old : rt.attached) {
    bool still = false;
    for (auto& a : e.attachments) still |= a == old;
    if (still) {
      keep.push_back(old);
    } else if (opt_.plumb) {
      DetachContainer(e.id, old);
    }
  }
  bool ports_changed = !current_ || current_->gateway_ports != c.gateway_ports;
  if (ports_changed && opt_.plumb) {
    for (auto& k : keep) errors->push_back(SetGatewayFilter(k.veth, c.gateway_ports));
  }
  std::vector<Attachment> fresh;
  for (auto& a : e.attachments) {
    bool have = false;
    for (auto& k : keep) have |= k == a;
    if (!have) fresh.push_back(a);
  }
  // In one batch: a host starting many containers at once attaches them all
  // with a few commands (plumbing.h).
  std::vector<Status> done =
      opt_.plumb ? AttachContainers(e.id, fresh, c.InnerMtu(), c.gateway_ports) : std::vector<Status>(fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i) {
    errors->push_back(done[i]);
    if (done[i].ok()) keep.push_back(fresh[i]);
  }
  rt.attached = std::move(keep);
}

void Device::WatchTun(const Tun& t) {
  for (auto& l : lanes_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = t.queue_fd(l->index);
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
  }
}

void Device::StartLanes() {
  if (started_) return;
  started_ = true;
  for (auto& l : lanes_) {
    Lane* lp = l.get();
    lp->thread = std::thread([this, lp] { LaneLoop(*lp); });
  }
}

// ---------------------------------------------------------------- lane

void Device::LaneLoop(Lane& l) {
  pthread_setname_np(pthread_self(), ("rv-lane" + std::to_string(l.index)).c_str());
  if (l.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(l.cpu, &set);
    if (int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); e != 0)
      spdlog::warn("lane {}: cannot pin to CPU {}: {}", l.index, l.cpu, strerror(e));
  }
  // Real-time while mostly idle (lane_priority.h). Without CAP_SYS_NICE or a
  // real-time budget in its cgroup the lane says so once and stays fair.
  // rt: this lane may use SCHED_FIFO; false for good after the first refusal.
  bool rt = opt_.realtime_max_busy > 0;
  auto set_realtime = [&](bool on) {
    if (Status s = SetThreadRealtime(on); !s.ok()) {
      spdlog::warn("lane {}: stays SCHED_OTHER: {}", l.index, s.message());
      rt = false;
    }
  };
  if (rt) set_realtime(true);
  l.realtime.store(rt, std::memory_order_relaxed);
  LanePriority::Options po;
  po.max_busy = opt_.realtime_max_busy;
  LanePriority priority(po, rt, MonotonicUs(), ThreadCpuUs());
  epoll_event events[16];
  std::shared_ptr<const Snapshot> snap;
  uint64_t seen = ~uint64_t{0};
  const int sock_fd = l.sock->fd();
  // After every wait, before the batch: a lane that slept through an Apply
  // must not forward its first packets with the routes of before.
  auto refresh = [&] {
    uint64_t g = gen_.load(std::memory_order_acquire);
    if (g == seen) return;
    std::lock_guard<std::mutex> lk(snap_mu_);
    snap = snap_;
    seen = g;
    l.seen.store(g);
  };
  refresh();
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(l.epfd, events, 16, 100);
    int64_t woke = MonotonicUs();
    refresh();
    if (priority.Due(woke)) {
      if (auto c = priority.Tick(woke, ThreadCpuUs()); c != LanePriority::Change::kNone && rt) {
        set_realtime(c == LanePriority::Change::kToRealtime);
        l.realtime.store(rt && priority.realtime(), std::memory_order_relaxed);
        l.demotions.store(priority.demotions(), std::memory_order_relaxed);
      }
      l.busy_permille.store(uint32_t(priority.last_busy() * 1000), std::memory_order_relaxed);
    }
    if (n <= 0) continue;
    for (int ei = 0; ei < n; ei++) {
      if (events[ei].data.fd != sock_fd) {
        TxDrain(l, *snap, events[ei].data.fd, 64);
        continue;
      }
      l.nwritten = 0;
      Receive(l, *snap);
      // Writing to a TUN usually makes the kernel queue the answer (echo
      // reply, SYN-ACK, ACK) before write() returns, on this lane's queue
      // (steering by CPU): send it in this turn rather than after another
      // epoll_wait.
      for (int i = 0; i < l.nwritten; i++) TxDrain(l, *snap, l.written[i], 4);
    }
    if (l.nmsgs) TxFlush(l);
  }
}

Status Device::Wipe() {
  if (!current_) return Status::Ok();
  ControlConfig empty;
  empty.host_id = current_->host_id;
  empty.listen_addr = current_->listen_addr;
  empty.listen_port = current_->listen_port;
  empty.underlay_mtu = current_->underlay_mtu;
  empty.pod = current_->pod;
  // No envs: every TUN, route, rule and attachment goes, and the snapshot
  // that held the keys is replaced (its Aeads wipe them once the workers let go).
  Status s = Apply(empty);
  uint64_t gen = gen_.load();
  WaitLanesSeen(gen);
  return s;
}

std::string Device::StatsJson() const {
  nlohmann::json j;
  for (auto& [k, v] : metrics_.Snapshot()) j["counters"][k] = v;
  std::shared_ptr<const Snapshot> s;
  {
    std::lock_guard<std::mutex> l(snap_mu_);
    s = snap_;
  }
  j["host_id"] = s->host_id;
  j["udp_gso"] = !lanes_.empty() && lanes_[0]->sock->gso();
  j["udp_gro"] = !lanes_.empty() && lanes_[0]->sock->gro();
  for (auto& l : lanes_) {
    nlohmann::json lj;
    lj["cpu"] = l->cpu;
    lj["rx_datagrams"] = l->rx_datagrams.load(std::memory_order_relaxed);
    lj["tx_datagrams"] = l->tx_datagrams.load(std::memory_order_relaxed);
    lj["realtime"] = l->realtime.load(std::memory_order_relaxed);
    lj["demotions"] = l->demotions.load(std::memory_order_relaxed);
    lj["busy"] = l->busy_permille.load(std::memory_order_relaxed) / 1000.0;
    j["lanes"].push_back(lj);
  }
  j["tun_offload"] = opt_.offload;
  for (auto& [id, e] : s->envs) {
    nlohmann::json ej;
    ej["subnet"] = FormatPrefix(e.subnet);
    ej["send_epoch"] = e.send_epoch;
    ej["aead"] = e.send ? AeadName(e.send->kind()) : "none";
    for (int i = 0; i < 2; i++)
      if (e.keys[i]) ej["epochs"].push_back(e.epochs[i]);
    ej["routes"] = e.routes.size();
    ej["local"] = e.local.size();
    j["envs"][std::to_string(id)] = ej;
  }
  return j.dump();
}

}  // namespace rv::overlay
