// The receiving half of a lane: UDP -> checks -> open -> TUN queue.
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "common/clock.h"
#include "overlay/lane.h"

namespace rv::overlay {

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
  if (eit == snap.envs.end() || eit->second.tun_fds.empty()) {
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
  ReplayWindows::Guarded*& cached = l.windows[uint64_t(h.env_id) << 32 | h.sender_id];
  if (!cached) cached = &windows_->Get(h.env_id, h.sender_id);
  ReplayWindows::Guarded& win = *cached;
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

}  // namespace rv::overlay
