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
#include <shared_mutex>
#include <unordered_map>

#include "common/clock.h"
#include "overlay/header.h"
#include "overlay/plumbing.h"
#include "overlay/reassembly.h"
#include "overlay/replay.h"
#include "overlay/steering.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace rv::overlay {
namespace {

uint32_t Be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Inner IPv4 source and destination; false if the packet is not plausible IPv4.
bool InnerAddrs(const uint8_t* ip, size_t len, uint32_t* src, uint32_t* dst) {
  if (len < 20 || (ip[0] >> 4) != 4 || (ip[0] & 15) < 5) return false;
  *src = Be32(ip + 12);
  *dst = Be32(ip + 16);
  return true;
}

constexpr int kTxSlots = 16;        // TUN reads in flight per sendmmsg
constexpr int kTxMsgs = 128;        // msghdrs per sendmmsg
constexpr int kTxIovs = kTxSlots * 2 * kMaxFragments;
constexpr int kRxMsgs = 16;
constexpr size_t kRxBuf = 65536;

}  // namespace

// The replay windows of every (env, sender), shared by the lanes: a sender's
// datagrams may reach any lane. Created the first time an authenticated-looking
// datagram names a known env and peer, so their number is bounded by the
// configuration, not by traffic.
class Device::ReplayWindows {
 public:
  struct Guarded {
    std::mutex mu;
    ReplayWindow w;
  };
  Guarded& Get(uint32_t env, uint32_t sender) {
    uint64_t k = uint64_t(env) << 32 | sender;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      auto it = map_.find(k);
      if (it != map_.end()) return *it->second;
    }
    std::unique_lock<std::shared_mutex> l(mu_);
    auto& g = map_[k];
    if (!g) g = std::make_unique<Guarded>();
    return *g;
  }

 private:
  std::shared_mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<Guarded>> map_;
};

// One lane: a thread pinned to one CPU, its underlay socket, its epoll set
// (the socket and its queue of every env's TUN) and its buffers.
struct Device::Lane {
  struct Slot {
    uint8_t buf[kMaxMessage];
    uint8_t hdrs[kMaxFragments][kHeaderSize];
  };
  static constexpr size_t kTxCmsgSpace = CMSG_SPACE(sizeof(uint16_t));
  static constexpr size_t kRxCmsgSpace = CMSG_SPACE(sizeof(int)) + 64;

  int index = 0;
  int cpu = -1;  // pinned to it; -1: not pinned (one lane)
  std::optional<UdpSocket> sock;
  int epfd = -1;
  std::thread thread;
  std::atomic<uint64_t> seen{0};  // last snapshot generation picked up
  std::atomic<uint64_t> rx_datagrams{0}, tx_datagrams{0};

  // sending
  std::unique_ptr<Slot[]> slots{new Slot[kTxSlots]};
  std::unique_ptr<mmsghdr[]> msgs{new mmsghdr[kTxMsgs]};
  std::unique_ptr<iovec[]> iovs{new iovec[kTxIovs]};
  std::unique_ptr<char[]> cmsgs{new char[kTxMsgs * kTxCmsgSpace]};
  std::unique_ptr<sockaddr_in[]> addrs{new sockaddr_in[kTxMsgs]};
  std::unique_ptr<uint8_t[]> scratch{new uint8_t[kMaxMessage]};
  int nslots = 0, nmsgs = 0, niovs = 0;

  // receiving
  std::unique_ptr<uint8_t[]> rx_bufs{new uint8_t[kRxMsgs * kRxBuf]};
  mmsghdr rx_msgs[kRxMsgs];
  iovec rx_iovs[kRxMsgs];
  sockaddr_in rx_from[kRxMsgs];
  alignas(cmsghdr) char rx_cmsgs[kRxMsgs][kRxCmsgSpace];
  std::unordered_map<uint32_t, std::unique_ptr<Reassembler>> reasm;  // per sender
  int written[4];  // TUN queues this turn wrote to (their answers are read next)
  int nwritten = 0;

  ~Lane() {
    if (epfd >= 0) close(epfd);
  }
};

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

Status Device::Apply(const ControlConfig& c) {
  Status first;
  auto note = [&](Status s) {
    if (!s.ok()) {
      spdlog::error("apply: {}", s.ToString());
      if (first.ok()) first = s;
    }
  };
  if (Status s = OpenLanes(c); !s.ok()) {
    metrics_.Add(Metric::kControlRejected);
    return s;
  }
  // Build every cipher first: a key that cannot be used rejects the whole update.
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
      if (!a.ok()) {
        metrics_.Add(Metric::kControlRejected);
        return Status::Invalid("env " + std::to_string(e.id) + ": " + a.status().message());
      }
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

  // Environments that left this host: stop reading their TUN first.
  std::vector<std::unique_ptr<Tun>> graveyard;
  for (auto it = envs_.begin(); it != envs_.end();) {
    if (snap->envs.count(it->first)) {
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
  for (auto& e : c.envs) {
    auto it = envs_.find(e.id);
    if (it == envs_.end()) {
      EnvRuntime rt;
      rt.subnet = e.subnet;
      auto tun = Tun::Open(TunName(e.id), opt_.offload, int(lanes_.size()));
      if (!tun.ok()) {
        note(tun.status());
        snap->envs.erase(e.id);
        continue;
      }
      rt.tun = std::make_unique<Tun>(std::move(*tun));
      if (tun_steering_fd_ >= 0) {
        if (Status s = AttachTunSteering(rt.tun->fd(), tun_steering_fd_); !s.ok())
          spdlog::warn("env {}: {}; its TUN queues follow the kernel's flow hash", e.id, s.ToString());
      }
      if (opt_.plumb) {
        Status s = SetupEnvNet(e.id, rt.tun->name(), e.subnet, c.pod, c.InnerMtu());
        (void)WriteSysctl("/proc/sys/net/ipv6/conf/" + rt.tun->name() + "/disable_ipv6", "1");
        note(s);
      }
      for (auto& l : lanes_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = rt.tun->queue_fd(l->index);
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
      }
      it = envs_.emplace(e.id, std::move(rt)).first;
      spdlog::info("env {} up on {} subnet {}", e.id, it->second.tun->name(), FormatPrefix(e.subnet));
    }
    EnvRuntime& rt = it->second;
    for (int q = 0; q < rt.tun->queues(); q++) {
      snap->envs[e.id].tun_fds.push_back(rt.tun->queue_fd(q));
      snap->env_by_fd[rt.tun->queue_fd(q)] = e.id;
    }
    // Attachments: detach what is gone or changed, attach what is new.
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
      for (auto& k : keep) note(SetGatewayFilter(k.veth, c.gateway_ports));
    }
    for (auto& a : e.attachments) {
      bool have = false;
      for (auto& k : keep) have |= k == a;
      if (have) continue;
      Status s = opt_.plumb ? AttachContainer(e.id, a, c.InnerMtu(), c.gateway_ports) : Status::Ok();
      note(s);
      if (s.ok()) keep.push_back(a);
    }
    rt.attached = std::move(keep);
  }

  Publish(snap);
  // Kept for Wipe(): the shape of this host, without the keys (they live
  // only in the Aead objects of the snapshot, which wipe them when dropped).
  current_ = c;
  for (auto& e : current_->envs) WipeKeys(&e.keys);
  uint64_t gen = gen_.load();
  if (!started_) {
    started_ = true;
    for (auto& l : lanes_) {
      Lane* lp = l.get();
      lp->thread = std::thread([this, lp] { LaneLoop(*lp); });
    }
  }
  if (!graveyard.empty()) WaitLanesSeen(gen);  // then the fds may close
  metrics_.Add(first.ok() ? Metric::kControlApplied : Metric::kControlRejected);
  return first;
}

// ---------------------------------------------------------------- sending

void Device::TxFlush(Lane& t) {
  const int fd = t.sock->fd();
  int done = 0;
  while (done < t.nmsgs) {
    int r = sendmmsg(fd, t.msgs.get() + done, unsigned(t.nmsgs - done), 0);
    metrics_.Add(Metric::kTxSyscalls);
    if (r > 0) {
      metrics_.Add(Metric::kTxDatagrams, uint64_t(r));
      t.tx_datagrams.fetch_add(uint64_t(r), std::memory_order_relaxed);
      done += r;
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == EIO || errno == EINVAL) && t.sock->gso()) {
      spdlog::warn("UDP_SEGMENT refused ({}); lane {} sends without UDP GSO from now on", strerror(errno),
                   t.index);
      t.sock->DisableGso();
    }
    metrics_.Add(Metric::kDropSendError);
    done++;  // skip the datagram that failed, keep the rest
  }
  t.nslots = t.nmsgs = t.niovs = 0;
}

// Reads up to max_reads packets from one env's TUN, seals and queues them.
// Returns whether it read any.
bool Device::TxDrain(Lane& t, const Snapshot& snap, int tfd, int max_reads) {
  auto fit = snap.env_by_fd.find(tfd);
  if (fit == snap.env_by_fd.end()) return false;
  const EnvState& env = snap.envs.at(fit->second);
  bool any = false;
  for (int burst = 0; burst < max_reads; burst++) {
    // Room for one more superpacket: a slot and its worst-case msghdrs/iovecs.
    if (t.nslots == kTxSlots || t.nmsgs + kMaxFragments > kTxMsgs) TxFlush(t);
    Lane::Slot& s = t.slots[t.nslots];
    ssize_t r = read(tfd, s.buf, kMaxMessage - kTagSize - 64);
    if (r < 0) break;  // EAGAIN: drained
    any = true;
    size_t len = size_t(r);
    uint32_t src, dst;
    if (len < kVnetHdrSize + 20) {
      metrics_.Add(Metric::kDropTunShort);
      continue;
    }
    if (!InnerAddrs(s.buf + kVnetHdrSize, len - kVnetHdrSize, &src, &dst)) {
      metrics_.Add(Metric::kDropTunNotIpv4);
      continue;
    }
    if (!env.local.count(src)) {
      metrics_.Add(Metric::kDropSpoofedSrc);
      continue;
    }
    uint32_t host = env.HostOf(dst);
    auto peer = snap.peers.find(host);
    if (host == 0 || host == snap.host_id || peer == snap.peers.end()) {
      metrics_.Add(Metric::kDropNoRoute);
      continue;
    }
    if (!env.send) {
      metrics_.Add(Metric::kDropNoKey);
      continue;
    }
    if (opt_.max_segments > 0 && SplitAndQueue(t, snap, env, peer->second, s.buf, len)) continue;
    QueueMessage(t, snap, env, peer->second, len);
  }
  return any;
}

// Seals the packet in slots[nslots] (len bytes) and queues its fragments.
void Device::QueueMessage(Lane& t, const Snapshot& snap, const EnvState& env,
                          const sockaddr_in& peer_sa, size_t len) {
  Lane::Slot& s = t.slots[t.nslots];
  {
    size_t ct = len + kTagSize;
    size_t stride = snap.max_datagram - kHeaderSize;
    int frags = ct <= stride ? 1 : int((ct + stride - 1) / stride);
    if (frags > kMaxFragments) {
      metrics_.Add(Metric::kDropTooBig);
      return;
    }
    Header h;
    h.env_id = env.id;
    h.epoch = env.send_epoch;
    h.sender_id = snap.host_id;
    h.counter = counter_.fetch_add(1, std::memory_order_relaxed);
    h.frag_count = uint8_t(frags);
    h.frag_stride = frags == 1 ? 0 : uint16_t(stride);
    EncodeHeader(h, s.hdrs[0]);
    env.send->Seal(s.buf, len, s.hdrs[0] + kAdOffset, kAdSize, h.sender_id, h.counter);
    for (int f = 1; f < frags; f++) {
      memcpy(s.hdrs[f], s.hdrs[0], kHeaderSize);
      s.hdrs[f][1] = uint8_t(f);
    }
    // Group fragments into messages: with UDP GSO one message carries up to
    // 64 equal segments below the 64 KB datagram limit; without, one each.
    size_t seg = kHeaderSize + stride;
    int per_msg = t.sock->gso() ? int(std::min<size_t>(64, 65000 / seg)) : 1;
    for (int f0 = 0; f0 < frags; f0 += per_msg) {
      int nf = std::min(per_msg, frags - f0);
      mmsghdr& m = t.msgs[t.nmsgs];
      memset(&m, 0, sizeof(m));
      t.addrs[t.nmsgs] = peer_sa;
      m.msg_hdr.msg_name = &t.addrs[t.nmsgs];
      m.msg_hdr.msg_namelen = sizeof(sockaddr_in);
      m.msg_hdr.msg_iov = &t.iovs[t.niovs];
      for (int f = f0; f < f0 + nf; f++) {
        size_t off = size_t(f) * stride;
        size_t plen = std::min(stride, ct - off);
        t.iovs[t.niovs++] = {s.hdrs[f], kHeaderSize};
        t.iovs[t.niovs++] = {s.buf + off, plen};
      }
      m.msg_hdr.msg_iovlen = size_t(2 * nf);
      if (nf > 1) {
        char* cb = &t.cmsgs[t.nmsgs * Lane::kTxCmsgSpace];
        memset(cb, 0, Lane::kTxCmsgSpace);
        m.msg_hdr.msg_control = cb;
        m.msg_hdr.msg_controllen = Lane::kTxCmsgSpace;
        cmsghdr* cm = CMSG_FIRSTHDR(&m.msg_hdr);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gso = uint16_t(seg);
        memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
      }
      t.nmsgs++;
    }
    t.nslots++;
    metrics_.Add(Metric::kTxPackets);
    metrics_.Add(Metric::kTxBytes, len - kVnetHdrSize);
  }
}

// Loss containment (opt-in, --max-segments N): a TCP superpacket of more than
// N segments is cut into GSO units of N segments, each sealed on its own, so
// losing one underlay datagram costs N segments, not ~44. Per unit: IP total
// length, id and header checksum, TCP sequence number, FIN/PSH only on the last
// unit, CWR only on the first, and the partial (pseudo-header) TCP checksum for
// the unit's length. Returns false (caller seals it whole) if not applicable.
bool Device::SplitAndQueue(Lane& t, const Snapshot& snap, const EnvState& env,
                           const sockaddr_in& peer_sa, const uint8_t* pkt, size_t len) {
  const uint8_t* vh = pkt;
  const uint8_t* ip = pkt + kVnetHdrSize;
  uint8_t gso_type = vh[1];
  uint16_t gso = uint16_t(vh[4] | vh[5] << 8);
  if ((gso_type & 0x7f) != 1 /* VIRTIO_NET_HDR_GSO_TCPV4 */ || !(vh[0] & 1) /* NEEDS_CSUM */ || gso == 0)
    return false;
  size_t ihl = size_t(ip[0] & 15) * 4;
  if (ip[9] != 6 || len < kVnetHdrSize + ihl + 20) return false;
  const uint8_t* tcp = ip + ihl;
  size_t thl = size_t(tcp[12] >> 4) * 4;
  size_t hlen = ihl + thl;
  if (thl < 20 || len < kVnetHdrSize + hlen) return false;
  size_t payload = len - kVnetHdrSize - hlen;
  size_t chunk = size_t(opt_.max_segments) * gso;
  if (payload <= chunk) return false;
  memcpy(t.scratch.get(), pkt, len);  // the slot it came in is reused for a unit
  const uint8_t* sp = t.scratch.get();
  const uint8_t* sip = sp + kVnetHdrSize;
  const uint8_t* stcp = sip + ihl;
  uint16_t id = uint16_t(sip[4] << 8 | sip[5]);
  uint32_t seq = uint32_t(stcp[4]) << 24 | stcp[5] << 16 | stcp[6] << 8 | stcp[7];
  for (size_t off = 0; off < payload; off += chunk) {
    size_t n = std::min(chunk, payload - off);
    if (t.nslots == kTxSlots || t.nmsgs + kMaxFragments > kTxMsgs) TxFlush(t);
    uint8_t* p = t.slots[t.nslots].buf;
    memcpy(p, sp, kVnetHdrSize + hlen);
    memcpy(p + kVnetHdrSize + hlen, sp + kVnetHdrSize + hlen + off, n);
    uint8_t* pip = p + kVnetHdrSize;
    uint8_t* ptcp = pip + ihl;
    size_t tot = hlen + n;
    pip[2] = uint8_t(tot >> 8);
    pip[3] = uint8_t(tot);
    uint16_t pid = uint16_t(id + off / gso);
    pip[4] = uint8_t(pid >> 8);
    pip[5] = uint8_t(pid);
    pip[10] = pip[11] = 0;
    uint32_t sum = 0;
    for (size_t i = 0; i < ihl; i += 2) sum += uint32_t(pip[i]) << 8 | pip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    pip[10] = uint8_t(~sum >> 8);
    pip[11] = uint8_t(~sum);
    uint32_t pseq = seq + uint32_t(off);
    for (int i = 0; i < 4; i++) ptcp[4 + i] = uint8_t(pseq >> (24 - 8 * i));
    if (off + n < payload) ptcp[13] &= uint8_t(~0x09);  // FIN, PSH: last unit only
    if (off > 0) ptcp[13] &= uint8_t(~0x80);            // CWR: first unit only
    uint32_t ps = 6 + uint32_t(thl + n);
    for (int i = 12; i < 20; i += 2) ps += uint32_t(pip[i]) << 8 | pip[i + 1];
    while (ps >> 16) ps = (ps & 0xffff) + (ps >> 16);
    ptcp[16] = uint8_t(ps >> 8);  // partial checksum: the folded pseudo-header sum
    ptcp[17] = uint8_t(ps);
    if (n <= gso) {  // a single segment is not a GSO packet
      p[1] = 0;
      p[4] = p[5] = 0;
    }
    QueueMessage(t, snap, env, peer_sa, kVnetHdrSize + tot);
  }
  return true;
}

// ---------------------------------------------------------------- receiving

void Device::ReceiveDatagram(Lane& l, const Snapshot& snap, uint8_t* p, size_t len) {
  metrics_.Add(Metric::kRxDatagrams);
  l.rx_datagrams.fetch_add(1, std::memory_order_relaxed);
  Header h;
  DecodeError de = DecodeHeader(p, len, &h);
  if (de != DecodeError::kOk) {
    metrics_.Add(de == DecodeError::kTruncated ? Metric::kDropTruncated
                 : de == DecodeError::kBadType ? Metric::kDropBadHeader
                                               : Metric::kDropBadFragment);
    return;
  }
  auto eit = snap.envs.find(h.env_id);
  if (eit == snap.envs.end() || eit->second.tun_fds.size() != lanes_.size()) {
    metrics_.Add(Metric::kDropUnknownEnv);
    return;
  }
  const EnvState& env = eit->second;
  const Aead* aead = env.KeyFor(h.epoch);
  if (!aead) {
    metrics_.Add(Metric::kDropUnknownEpoch);
    return;
  }
  if (h.sender_id == snap.host_id || !snap.peers.count(h.sender_id)) {
    metrics_.Add(Metric::kDropUnknownSender);
    return;
  }
  ReplayWindows::Guarded& win = windows_->Get(h.env_id, h.sender_id);
  bool fresh;
  {
    std::lock_guard<std::mutex> g(win.mu);
    fresh = win.w.Check(h.counter);
  }
  if (!fresh) {
    metrics_.Add(Metric::kDropReplay);
    return;
  }
  uint8_t* ct = p + kHeaderSize;
  size_t ct_len = len - kHeaderSize;
  if (h.frag_count > 1) {
    auto& ra = l.reasm[h.sender_id];
    if (!ra) ra = std::make_unique<Reassembler>();
    uint8_t* out;
    size_t out_len;
    auto res = ra->Add(h, ct, ct_len, MonotonicMs(), &out, &out_len);
    switch (res) {
      case Reassembler::Result::kIncomplete: return;
      case Reassembler::Result::kEvictedOther: metrics_.Add(Metric::kDropReassemblyEvicted); return;
      case Reassembler::Result::kDuplicate: metrics_.Add(Metric::kDropDupFragment); return;
      case Reassembler::Result::kBad: metrics_.Add(Metric::kDropBadFragment); return;
      case Reassembler::Result::kComplete: break;
    }
    ct = out;
    ct_len = out_len;
  }
  if (!aead->Open(ct, ct_len, p + kAdOffset, kAdSize, h.sender_id, h.counter)) {
    metrics_.Add(Metric::kDropAuthFailed);
    return;
  }
  bool first;
  {
    std::lock_guard<std::mutex> g(win.mu);
    first = win.w.Accept(h.counter);
  }
  if (!first) {  // a twin completed meanwhile, on this lane or another
    metrics_.Add(Metric::kDropReplay);
    return;
  }
  uint8_t* pt = ct;
  size_t pt_len = ct_len - kTagSize;
  uint32_t src, dst;
  if (pt_len < kVnetHdrSize + 20 || !InnerAddrs(pt + kVnetHdrSize, pt_len - kVnetHdrSize, &src, &dst)) {
    metrics_.Add(Metric::kDropInnerBad);
    return;
  }
  if (!env.local.count(dst)) {
    metrics_.Add(Metric::kDropNoLocalDst);
    return;
  }
  if (env.HostOf(src) != h.sender_id) {
    metrics_.Add(Metric::kDropSrcNotFromSender);
    return;
  }
  int tfd = env.tun_fds[size_t(l.index)];
  if (write(tfd, pt, pt_len) < 0) {
    metrics_.Add(Metric::kDropTunWriteError);
    return;
  }
  metrics_.Add(Metric::kRxPackets);
  metrics_.Add(Metric::kRxBytes, pt_len - kVnetHdrSize);
  bool listed = false;
  for (int i = 0; i < l.nwritten; i++) listed |= l.written[i] == tfd;
  if (!listed && l.nwritten < int(std::size(l.written))) l.written[l.nwritten++] = tfd;
}

// One recvmmsg (non-blocking; the lane's epoll said the socket is readable)
// and the datagrams in it.
void Device::Receive(Lane& l, const Snapshot& snap) {
  for (int i = 0; i < kRxMsgs; i++) {
    l.rx_iovs[i] = {l.rx_bufs.get() + i * kRxBuf, kRxBuf};
    memset(&l.rx_msgs[i], 0, sizeof(l.rx_msgs[i]));
    l.rx_msgs[i].msg_hdr.msg_iov = &l.rx_iovs[i];
    l.rx_msgs[i].msg_hdr.msg_iovlen = 1;
    l.rx_msgs[i].msg_hdr.msg_name = &l.rx_from[i];
    l.rx_msgs[i].msg_hdr.msg_namelen = sizeof(l.rx_from[i]);
    l.rx_msgs[i].msg_hdr.msg_control = l.rx_cmsgs[i];
    l.rx_msgs[i].msg_hdr.msg_controllen = Lane::kRxCmsgSpace;
  }
  int n = recvmmsg(l.sock->fd(), l.rx_msgs, kRxMsgs, MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  metrics_.Add(Metric::kRxSyscalls);
  for (int i = 0; i < n; i++) {
    uint8_t* p = l.rx_bufs.get() + i * kRxBuf;
    size_t len = l.rx_msgs[i].msg_len;
    if (l.rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {  // larger than any datagram we send
      metrics_.Add(Metric::kDropTruncated);
      continue;
    }
    size_t seg = len;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&l.rx_msgs[i].msg_hdr); cm; cm = CMSG_NXTHDR(&l.rx_msgs[i].msg_hdr, cm)) {
      if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
        int v;
        memcpy(&v, CMSG_DATA(cm), sizeof(v));
        if (v > 0) seg = size_t(v);
      }
    }
    for (size_t off = 0; off < len; off += seg) ReceiveDatagram(l, snap, p + off, std::min(seg, len - off));
  }
}

// ---------------------------------------------------------------- lane

void Device::LaneLoop(Lane& l) {
  if (l.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(l.cpu, &set);
    if (int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); e != 0)
      spdlog::warn("lane {}: cannot pin to CPU {}: {}", l.index, l.cpu, strerror(e));
  }
  epoll_event events[16];
  std::shared_ptr<const Snapshot> snap;
  uint64_t seen = ~uint64_t{0};
  const int sock_fd = l.sock->fd();
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t g = gen_.load(std::memory_order_acquire);
    if (g != seen) {
      std::lock_guard<std::mutex> lk(snap_mu_);
      snap = snap_;
      seen = g;
      l.seen.store(g);
    }
    int n = epoll_wait(l.epfd, events, 16, 100);
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
