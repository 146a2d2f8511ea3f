// Lane internals shared by device.cc, send.cc and receive.cc (not part of
// the Device contract): the per-lane buffers and sockets, the replay windows
// shared by lanes, and the datapath's sizes.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "overlay/device.h"
#include "overlay/header.h"
#include "overlay/reassembly.h"
#include "overlay/replay.h"

namespace rv::overlay {

inline uint32_t Be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Inner IPv4 source and destination; false if the packet is not plausible IPv4.
inline bool InnerAddrs(const uint8_t* ip, size_t len, uint32_t* src, uint32_t* dst) {
  if (len < 20 || (ip[0] >> 4) != 4 || (ip[0] & 15) < 5) return false;
  *src = Be32(ip + 12);
  *dst = Be32(ip + 16);
  return true;
}

inline constexpr int kTxSlots = 16;        // TUN reads in flight per sendmmsg
inline constexpr int kTxMsgs = 128;        // msghdrs per sendmmsg
inline constexpr int kTxIovs = kTxSlots * 2 * kMaxFragments;
inline constexpr int kRxMsgs = 16;
inline constexpr size_t kRxBuf = 65536;

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
  std::atomic<bool> realtime{false};    // SCHED_FIFO now (lane_priority.h)
  std::atomic<uint64_t> demotions{0};   // times it was busy enough to drop to SCHED_OTHER
  std::atomic<uint32_t> busy_permille{0};  // CPU time used in the last 100 ms window

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
  // This lane's view of the shared windows (which are never freed): a lookup
  // without the shared map's lock, for every fragment.
  std::unordered_map<uint64_t, ReplayWindows::Guarded*> windows;
  int written[4];  // TUN queues this turn wrote to (their answers are read next)
  int nwritten = 0;

  ~Lane() {
    if (epfd >= 0) close(epfd);
  }
};

}  // namespace rv::overlay
