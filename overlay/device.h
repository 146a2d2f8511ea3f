// Device: overlayd's datapath (contract), in the shape of wireguard-go's
// device/: two worker threads, one per core.
//
//   TX worker: epoll over every environment's TUN -> read [vnet hdr | packet]
//     (a TCP GSO superpacket when offloads are on) -> check the inner source
//     is a container attached here in that env -> route by destination ->
//     seal once in place -> fragment to the underlay MTU by iovecs (no copy)
//     -> sendmmsg, with UDP_SEGMENT so one message leaves in one syscall.
//   RX worker: recvmmsg (UDP_GRO: many datagrams per slot) -> decode header ->
//     env, epoch, sender known? -> replay pre-check -> reassemble -> open in
//     place -> replay accept -> inner destination attached here and inner
//     source routed to the sender? -> write to the env's TUN.
//
// The sending half (TxState: buffers and the one nonce counter) is behind a
// mutex: the TX worker takes it per batch; the RX worker try_locks it to send
// the answer the kernel queued on a TUN while RX wrote to it
// (Options::inline_reply): an echo reply, SYN-ACK or pure ACK then leaves
// without waking the TX worker, one of the four thread wake-ups of a ping's
// round trip (~40 µs of ~300 on this 2-vCPU VM, docs/OVERLAY.md). One thread
// at a time seals, so nonces stay unique and in order.
//
// All buffers are allocated when the Device starts (and one reassembler per
// peer the first time it is heard from); nothing is allocated per packet.
// Apply() is called from one control thread; it diffs the desired state
// against the running one (TUNs, routes, container attachments), publishes a
// new Snapshot and returns; workers use it from their next batch. A config
// that does not parse or whose keys do not open is refused whole and the
// running state is kept. Every drop is counted in Metrics.
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
    bool inline_reply = true;  // RX worker sends the answers queued during its TUN writes
  };

  explicit Device(Options o);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  Status Apply(const ControlConfig& c);
  // Forgets every environment: keys (wiped), routes, TUNs, attachments. The
  // underlay socket stays; the next Apply brings the envs back. (overlayd's
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

  Status OpenSocket(const ControlConfig& c);
  void Publish(std::shared_ptr<const Snapshot> s);
  void WaitWorkersSeen(uint64_t gen);
  struct TxState;
  struct RxState;
  void TxLoop();
  void RxLoop();
  int RxRecv(RxState& r);  // one recvmmsg (blocks up to the socket's timeout): messages
  // Processes the n messages received. parked (RxLoop's inline reply): each TUN
  // about to be written is first taken out of the TX worker's epoll set and
  // added to it (up to its capacity).
  void RxProcess(RxState& r, const Snapshot& snap, int n, std::vector<int>* parked);
  void RxDatagram(RxState& r, const Snapshot& snap, uint8_t* p, size_t len, std::vector<int>* parked);
  void SetTunPolled(int tun_fd, bool on);  // in or out of the TX worker's epoll set
  bool TxDrain(TxState& t, const Snapshot& snap, int tun_fd, int max_reads);
  void TxFlush(TxState& t);
  void QueueMessage(TxState& t, const Snapshot& snap, const EnvState& env, const sockaddr_in& peer,
                    size_t len);
  bool SplitAndQueue(TxState& t, const Snapshot& snap, const EnvState& env, const sockaddr_in& peer,
                     const uint8_t* pkt, size_t len);

  Options opt_;
  Metrics metrics_;
  std::optional<UdpSocket> sock_;
  uint32_t listen_addr_ = 0;
  uint16_t listen_port_ = 0;
  int epfd_ = -1;
  std::map<uint32_t, EnvRuntime> envs_;   // control thread only
  std::optional<ControlConfig> current_;  // last applied

  mutable std::mutex snap_mu_;
  std::shared_ptr<const Snapshot> snap_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> tx_seen_{0}, rx_seen_{0};
  std::atomic<bool> stop_{false};
  std::mutex tx_mu_;
  std::unique_ptr<TxState> txs_;  // under tx_mu_
  std::unique_ptr<RxState> rxs_;  // RX worker only
  std::thread tx_, rx_;
  bool started_ = false;
};

}  // namespace rv::overlay
