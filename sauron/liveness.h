// Liveness: decides when a host that is up is lost. Pure bookkeeping, no
// sockets, so every rule is unit-testable; the daemon feeds it the API ROUTER's
// connection events and the hosts' messages, and marks lost whatever Due() returns.
//
// Signals, fastest first:
//  1. TCP closed. A host names its connection in host.hello (conn_endpoint =
//     the local "ip:port" of its DEALER's connection, i.e. the peer endpoint
//     sauron's monitor saw on ACCEPTED). When that fd reports DISCONNECTED the
//     host's agent is gone (TakeGone, at once: an event within milliseconds)
//     and the host is lost after `disconnect_grace_ms` (the agent grace,
//     default 2000) unless it says hello again meanwhile: a closed socket
//     means the agent died while the kernel, and so probably its containers,
//     live on, and a restarted strider adopts them (docs/SCEPTRE.md). A host
//     that really died goes silent (2, 2b, 3). A killed process's kernel
//     closes the socket, so the event takes about a millisecond.
//  1b. Bye: a strider that stops cleanly says host.bye and is lost at once.
//  2. Silence. libzmq's ZMTP heartbeat (on the ROUTER) disconnects a peer that
//     does not answer PINGs within lost_after_ms, which then is signal 1. This
//     catches a SIGSTOPped process or a cut cable.
//  2b. Beacons (sauron/beacon_receiver.h): a host that sends them and falls
//     silent for lost_after_ms is lost. Cheaper and more tolerant of a busy
//     sauron than ZMTP pings, which are then only needed for half-open TCP.
//  3. Backstop: no message at all from a host for
//     max(lost_after_ms, 3 * heartbeat_ms) -> lost (covers a host whose
//     connection could not be mapped, e.g. behind NAT).
// A host that says hello again (on any connection) is tracked afresh.
//
// Times are monotonic milliseconds. Not thread-safe: the daemon's loop owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/transport/monitor.h"

namespace rv::sauron {

struct LivenessOptions {
  int heartbeat_ms = 1000;
  int lost_after_ms = 600;
  int disconnect_grace_ms = 2000;
};

class Liveness {
 public:
  enum class Bind { kBound, kPendingAccept, kAddressMismatch, kClosed, kNoEndpoint };

  explicit Liveness(LivenessOptions opts) : opts_(opts) {}

  void OnConnEvent(const transport::ConnEvent& ev, int64_t now_ms);
  // A hello from `host` naming its connection `conn_endpoint`; `peer_ip` is
  // the source address libzmq saw for the message ("Peer-Address"), which
  // must be the endpoint's IP (a host cannot adopt another's connection).
  Bind OnHello(const std::string& host, const std::string& conn_endpoint, const std::string& peer_ip, int64_t now_ms);
  // Any message from a tracked host proves it alive.
  void OnMessage(const std::string& host, int64_t now_ms);
  // A valid liveness beacon. From its first beacon on, a host that is silent
  // for lost_after_ms is lost (beacons come every beacon_ms < lost_after_ms / 2),
  // instead of waiting for the backstop.
  void OnBeacon(const std::string& host, int64_t now_ms);
  // Where the time of a host's latest beacon can be read (monotonic ms, 0 =
  // none): the daemon reports only a session's first beacon through OnBeacon,
  // and a silence scan reads the rest from here.
  void SetBeaconClock(std::function<int64_t(const std::string&)> clock) { beacon_clock_ = std::move(clock); }
  // Tracks a host without a known connection (after a restart: up hosts get
  // until the backstop to say hello again).
  void Track(const std::string& host, int64_t now_ms);
  void Forget(const std::string& host);
  // The host's agent said it leaves (host.bye): lost at the next Due().
  void Bye(const std::string& host, const std::string& why, int64_t now_ms);
  // Hosts whose bound connection closed since the last call (each once per
  // disconnect), with the reason: they are in their grace now.
  std::vector<std::pair<std::string, std::string>> TakeGone();
  bool Tracked(const std::string& host) const { return hosts_.count(host) > 0; }
  // Whether a beacon of this host arrived since its last hello.
  bool BeaconsHeard(const std::string& host) const {
    auto it = hosts_.find(host);
    return it != hosts_.end() && it->second.beacons;
  }
  int BoundFd(const std::string& host) const;

  // Hosts to declare lost now, with the reason; they stop being tracked.
  std::vector<std::pair<std::string, std::string>> Due(int64_t now_ms);
  // Earliest time Due() may return something (for the poll timeout).
  int64_t NextDeadline() const;
  int backstop_ms() const;

 private:
  struct HostState {
    int fd = -1;
    std::string endpoint;       // as named in hello
    int64_t last_msg_ms = 0;
    bool beacons = false;       // sends liveness beacons: silence limit is lost_after_ms
    int64_t lost_at_ms = 0;     // 0 = not disconnected
    std::string why;
  };
  void Unbind(const std::string& host);

  int64_t LimitOf(const HostState& h) const { return h.beacons ? opts_.lost_after_ms : backstop_ms(); }
  // A host's silence deadline may now come before the next scan.
  void ScanBy(int64_t deadline_ms) { next_scan_ms_ = std::min(next_scan_ms_, deadline_ms); }

  LivenessOptions opts_;
  std::unordered_map<std::string, HostState> hosts_;
  std::map<int, std::string> fd_host_;
  std::map<int, std::string> fd_peer_;        // open connections
  std::map<std::string, int> peer_fd_;
  std::map<std::string, int64_t> closed_;     // recently closed peer endpoints -> when
  std::map<std::string, int64_t> grace_;      // disconnected hosts -> when they are lost
  int64_t next_scan_ms_ = 0;
  std::function<int64_t(const std::string&)> beacon_clock_;
  std::map<std::string, std::string> awaiting_;  // endpoint named in hello, not yet accepted -> host
  std::vector<std::pair<std::string, std::string>> gone_;  // for TakeGone
};

}  // namespace rv::sauron
