// The sending half of a lane: TUN queue -> checks -> seal -> UDP.
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "overlay/lane.h"

namespace rv::overlay {

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
  // What one read may take into a slot: room is left for the AEAD tag.
  constexpr size_t kReadMax = kMaxMessage - kTagSize - 64;
  auto fit = snap.env_by_fd.find(tfd);
  if (fit == snap.env_by_fd.end()) {
    // A TUN this snapshot does not know (its env just left): read what it
    // holds anyway. Left unread, the fd stays readable and the lane's
    // level-triggered epoll_wait returns at once, again and again.
    if (t.nslots == kTxSlots) TxFlush(t);
    uint8_t* scratch = t.slots[t.nslots].buf;  // a free slot, not queued
    for (int burst = 0; burst < max_reads && read(tfd, scratch, kReadMax) >= 0; burst++)
      metrics_.Add(Metric::kDropTunUnknown);
    return false;
  }
  const EnvState& env = snap.envs.at(fit->second);
  bool any = false;
  for (int burst = 0; burst < max_reads; burst++) {
    // Room for one more superpacket: a slot and its worst-case msghdrs/iovecs.
    if (t.nslots == kTxSlots || t.nmsgs + kMaxFragments > kTxMsgs) TxFlush(t);
    Lane::Slot& s = t.slots[t.nslots];
    ssize_t r = read(tfd, s.buf, kReadMax);
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

}  // namespace rv::overlay
