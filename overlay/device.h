// Device: overlayd's datapath (contract), in the shape of wireguard-go's
// device/: lanes of worker threads, one per CPU.
//
// A lane is a thread pinned to one CPU with its own underlay UDP socket (one
// SO_REUSEPORT group) and its own queue of every env's multiqueue TUN. Kernel
// steering (overlay/steering.h) hands each packet to the lane on the CPU that
// has it, so waking the lane never crosses CPUs, and a lane that writes a
// request to a TUN finds the answer the kernel made (echo reply, SYN-ACK,
// ACK) on its own queue and sends it in the same turn. A lane's loop:
//
//   sending: read [vnet hdr | packet] from its TUN queue (a TCP GSO
//     superpacket when offloads are on) -> check the inner source is a
//     container attached here in that env -> route by destination -> seal once
//     in place -> fragment to the underlay MTU by iovecs (no copy) -> sendmmsg,
//     with UDP_SEGMENT so one message leaves in one syscall.
//   receiving: recvmmsg (UDP_GRO: many datagrams per slot) -> decode header ->
//     env, epoch, sender known? -> replay pre-check -> reassemble -> open in
//     place -> replay accept -> inner destination attached here and inner
//     source routed to the sender? -> write to the env's TUN (its queue).
//
// Shared by the lanes: the nonce counter (one atomic, so nonces stay unique
// per key) and the replay windows (a sender's datagrams may reach any lane;
// each window has its own lock). Reassembly is per lane: the fragments of a
// message leave in one sendmmsg and a NIC hashes them to one queue.
//
// All buffers are allocated when the Device starts (and one reassembler per
// peer and lane the first time it is heard from); nothing is allocated per
// packet. Apply() is called from one control thread; it diffs the desired
// state against the running one (TUNs, routes, container attachments),
// publishes a new Snapshot and returns; lanes use it from their next batch. A
// config that does not parse or whose keys do not open is refused whole and
// the running state is kept. Every drop is counted in Metrics.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "overlay/control.h"
#include "overlay/metrics.h"
#include "overlay/routing.h"
#include "overlay/tun.h"
#include "overlay/udp.h"

namespace rv::overlay {

class Device {
 public:
  struct Options {
    bool offload = true;       // TUN TSO/CSUM offloads (superpackets)
    bool udp_gso = true;       // UDP_SEGMENT on send
    bool plumb = true;         // configure routes/rules/veths (false: unit tests)
    int max_segments = 0;      // >0: seal TCP superpackets in units of this many segments
    int lanes = 0;             // worker threads; 0: one per CPU overlayd may run on (up to kMaxLanes)
    // Lanes run SCHED_FIFO while busy at most this fraction of the time
    // (overlay/lane_priority.h); 0: they stay SCHED_OTHER.
    double realtime_max_busy = 0.5;
  };
  static constexpr int kMaxLanes = 16;

  explicit Device(Options o);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  Status Apply(const ControlConfig& c);
  // Forgets every environment: keys (wiped), routes, TUNs, attachments. The
  // underlay sockets stay; the next Apply brings the envs back. (overlayd's
  // lease, overlay/lease.h.)
  Status Wipe();
  void Stop();

  Metrics& metrics() { return metrics_; }
  std::string StatsJson() const;

 private:
  struct EnvRuntime {
    std::unique_ptr<Tun> tun;
    Prefix subnet;
    std::vector<Attachment> attached;
  };
  struct Lane;
  class ReplayWindows;

  Status OpenLanes(const ControlConfig& c);
  // Apply's steps. Plumbing errors go to `errors` (the env stays).
  std::vector<std::unique_ptr<Tun>> RemoveGoneEnvs(const Snapshot& snap);  // their TUNs, to close later
  Result<EnvRuntime> OpenEnv(const EnvConfig& e, const ControlConfig& c, std::vector<Status>* errors);
  void SyncAttachments(const EnvConfig& e, const ControlConfig& c, EnvRuntime& rt, std::vector<Status>* errors);
  void WatchTun(const Tun& t);  // every lane polls its queue
  void StartLanes();            // once
  void Publish(std::shared_ptr<const Snapshot> s);
  void WaitLanesSeen(uint64_t gen);
  void LaneLoop(Lane& l);
  void Receive(Lane& l, const Snapshot& snap);
  void ReceiveDatagram(Lane& l, const Snapshot& snap, uint8_t* p, size_t len);
  bool TxDrain(Lane& l, const Snapshot& snap, int tun_fd, int max_reads);
  void TxFlush(Lane& l);
  void QueueMessage(Lane& l, const Snapshot& snap, const EnvState& env, const sockaddr_in& peer,
                    size_t len);
  bool SplitAndQueue(Lane& l, const Snapshot& snap, const EnvState& env, const sockaddr_in& peer,
                     const uint8_t* pkt, size_t len);

  Options opt_;
  Metrics metrics_;
  std::vector<int> lane_cpus_;  // CPU of lane i (pinned when there is more than one lane)
  std::vector<std::unique_ptr<Lane>> lanes_;
  int tun_steering_fd_ = -1;    // eBPF program choosing a TUN queue by CPU; -1: kernel's flow hash
  bool opened_ = false;
  uint32_t listen_addr_ = 0;
  uint16_t listen_port_ = 0;
  std::map<uint32_t, EnvRuntime> envs_;   // control thread only
  std::optional<ControlConfig> current_;  // last applied
  std::unique_ptr<ReplayWindows> windows_;
  // Nonce counter: starts at the wall clock in ns so a restarted overlayd never
  // reuses a (key, nonce) pair; one counter for all envs and lanes keeps
  // nonces unique.
  std::atomic<uint64_t> counter_;

  mutable std::mutex snap_mu_;
  std::shared_ptr<const Snapshot> snap_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<bool> stop_{false};
  bool started_ = false;
};

}  // namespace rv::overlay
