#include "sauron/liveness.h"

#include <algorithm>
#include <limits>

namespace rv::sauron {
namespace {

// "1.2.3.4:5" -> "1.2.3.4"; "[::1]:5" -> "::1".
std::string HostPart(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return "";
  std::string h = endpoint.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

constexpr int64_t kClosedMemoryMs = 10000;
constexpr int64_t kScanMs = 20;  // scans are at least this far apart

}  // namespace

int Liveness::backstop_ms() const { return std::max(opts_.lost_after_ms, 3 * opts_.heartbeat_ms); }

int Liveness::BoundFd(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? -1 : it->second.fd;
}

void Liveness::Unbind(const std::string& host) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  if (it->second.fd >= 0) {
    auto f = fd_host_.find(it->second.fd);
    if (f != fd_host_.end() && f->second == host) fd_host_.erase(f);
  }
  if (!it->second.endpoint.empty()) {
    auto a = awaiting_.find(it->second.endpoint);
    if (a != awaiting_.end() && a->second == host) awaiting_.erase(a);
  }
  it->second.fd = -1;
}

void Liveness::OnConnEvent(const transport::ConnEvent& ev, int64_t now_ms) {
  switch (ev.kind) {
    case transport::ConnEvent::kAccepted:
    case transport::ConnEvent::kConnected: {
      if (ev.fd < 0) return;
      // An fd number is reused after close: forget whatever it meant before.
      if (auto old = fd_peer_.find(ev.fd); old != fd_peer_.end()) peer_fd_.erase(old->second);
      fd_peer_[ev.fd] = ev.peer;
      peer_fd_[ev.peer] = ev.fd;
      closed_.erase(ev.peer);
      if (auto a = awaiting_.find(ev.peer); a != awaiting_.end()) {
        auto h = hosts_.find(a->second);
        if (h != hosts_.end() && h->second.endpoint == ev.peer) {
          h->second.fd = ev.fd;
          fd_host_[ev.fd] = a->second;
        }
        awaiting_.erase(a);
      }
      break;
    }
    case transport::ConnEvent::kDisconnected: {
      std::string peer = ev.peer;
      if (auto p = fd_peer_.find(ev.fd); p != fd_peer_.end()) {
        if (peer.empty()) peer = p->second;
        peer_fd_.erase(p->second);
        fd_peer_.erase(p);
      }
      if (!peer.empty()) closed_[peer] = now_ms;
      auto f = fd_host_.find(ev.fd);
      if (f == fd_host_.end()) return;
      std::string host = f->second;
      fd_host_.erase(f);
      auto h = hosts_.find(host);
      if (h == hosts_.end() || h->second.fd != ev.fd) return;
      h->second.fd = -1;
      h->second.lost_at_ms = now_ms + opts_.disconnect_grace_ms;
      h->second.why = "connection " + peer + " closed";
      grace_[host] = h->second.lost_at_ms;
      gone_.emplace_back(host, h->second.why);
      break;
    }
    default:
      break;
  }
  // Bounded memory: forget closed endpoints after a while.
  if (closed_.size() > 1024) {
    for (auto it = closed_.begin(); it != closed_.end();) {
      it = now_ms - it->second > kClosedMemoryMs ? closed_.erase(it) : std::next(it);
    }
  }
}

Liveness::Bind Liveness::OnHello(const std::string& host, const std::string& conn_endpoint, const std::string& peer_ip,
                                 int64_t now_ms) {
  Unbind(host);
  grace_.erase(host);
  HostState& h = hosts_[host];
  h.last_msg_ms = now_ms;
  h.lost_at_ms = 0;
  h.why.clear();
  h.endpoint.clear();
  // The welcome opens a new beacon session and the host's first beacon under
  // it may take a while to leave (its loop is busy): until one arrives the
  // silence limit is the heartbeat backstop, not the beacon limit.
  h.beacons = false;
  ScanBy(now_ms + LimitOf(h) + 1);
  if (conn_endpoint.empty()) return Bind::kNoEndpoint;
  if (!peer_ip.empty() && HostPart(conn_endpoint) != peer_ip) return Bind::kAddressMismatch;
  h.endpoint = conn_endpoint;
  if (auto c = closed_.find(conn_endpoint); c != closed_.end() && now_ms - c->second <= kClosedMemoryMs) {
    // The connection it says hello on is already gone: as good as a disconnect.
    h.lost_at_ms = now_ms + opts_.disconnect_grace_ms;
    h.why = "connection " + conn_endpoint + " closed";
    grace_[host] = h.lost_at_ms;
    gone_.emplace_back(host, h.why);
    return Bind::kClosed;
  }
  auto p = peer_fd_.find(conn_endpoint);
  if (p == peer_fd_.end()) {
    awaiting_[conn_endpoint] = host;
    return Bind::kPendingAccept;
  }
  // Another host bound to the same fd (it lied about its endpoint, or a stale
  // binding) loses it: the authenticated hello on this connection wins.
  if (auto f = fd_host_.find(p->second); f != fd_host_.end() && f->second != host) {
    auto other = hosts_.find(f->second);
    if (other != hosts_.end()) other->second.fd = -1;
  }
  h.fd = p->second;
  fd_host_[p->second] = host;
  return Bind::kBound;
}

void Liveness::OnMessage(const std::string& host, int64_t now_ms) {
  auto it = hosts_.find(host);
  if (it != hosts_.end()) it->second.last_msg_ms = now_ms;
}

void Liveness::OnBeacon(const std::string& host, int64_t now_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  it->second.last_msg_ms = std::max(it->second.last_msg_ms, now_ms);
  if (!it->second.beacons) {
    it->second.beacons = true;  // a shorter limit: the deadline may move earlier
    ScanBy(it->second.last_msg_ms + LimitOf(it->second) + 1);
  }
}

void Liveness::Track(const std::string& host, int64_t now_ms) {
  Unbind(host);
  grace_.erase(host);
  HostState& h = hosts_[host];
  h = HostState{};
  h.last_msg_ms = now_ms;
  ScanBy(now_ms + LimitOf(h) + 1);
}

void Liveness::Bye(const std::string& host, const std::string& why, int64_t now_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Unbind(host);
  it->second.lost_at_ms = now_ms;
  it->second.why = why;
  grace_[host] = now_ms;
}

std::vector<std::pair<std::string, std::string>> Liveness::TakeGone() {
  std::vector<std::pair<std::string, std::string>> out;
  out.swap(gone_);
  return out;
}

void Liveness::Forget(const std::string& host) {
  Unbind(host);
  grace_.erase(host);
  hosts_.erase(host);
}

std::vector<std::pair<std::string, std::string>> Liveness::Due(int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> out;
  // Disconnects are few and urgent: checked on every call. The scan over
  // every host runs when the earliest silence deadline it found last time
  // comes (messages only push deadlines later; a host whose deadline moves
  // earlier says so through ScanBy), and at most every kScanMs: with beacons
  // refreshing 1000 hosts, a scan every 20 ms was most of sauron's idle CPU.
  for (auto& [host, at] : grace_) {
    if (now_ms >= at) out.emplace_back(host, hosts_[host].why);
  }
  if (now_ms >= next_scan_ms_) {
    int64_t earliest = std::numeric_limits<int64_t>::max();
    size_t first_silent = out.size();
    for (auto& [host, h] : hosts_) {
      if (h.lost_at_ms != 0) continue;  // in grace_: handled above
      if (h.beacons && beacon_clock_) h.last_msg_ms = std::max(h.last_msg_ms, beacon_clock_(host));
      const int64_t deadline = h.last_msg_ms + LimitOf(h) + 1;
      if (now_ms >= deadline) {
        out.emplace_back(host, "no message for " + std::to_string(now_ms - h.last_msg_ms) + " ms");
      } else {
        earliest = std::min(earliest, deadline);
      }
    }
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first_silent), out.end());
    next_scan_ms_ = std::max(now_ms + kScanMs, earliest);
  }
  for (auto& [host, why] : out) Forget(host);
  return out;
}

int64_t Liveness::NextDeadline() const {
  int64_t next = next_scan_ms_;
  for (auto& [host, at] : grace_) next = std::min(next, at);
  return next;
}

}  // namespace rv::sauron
