// BeaconReceiver: sauron's end of the liveness beacons (common/transport/beacon.h).
//
// Each host that says hello gets a session (id + 16-byte key) in its welcome;
// its beacons then prove it alive. Datagrams are read in batches with
// recvmmsg when the daemon calls Drain (every few tens of ms), not one wake-up
// per datagram: that is what keeps liveness for 1000 hosts under 1% of a core.
// A datagram that is malformed, names no live session, fails its tag or does
// not advance the session's counter (a replay) is dropped and counted.
//
// Not thread-safe: the daemon's loop owns it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "common/transport/beacon.h"

namespace rv::sauron {

class BeaconReceiver {
 public:
  struct Session {
    uint32_t id = 0;
    std::string key;
  };

  BeaconReceiver();
  ~BeaconReceiver();
  BeaconReceiver(const BeaconReceiver&) = delete;
  BeaconReceiver& operator=(const BeaconReceiver&) = delete;

  // Binds UDP on ip:port (port 0: any free port).
  Status Bind(const std::string& ip, int port);
  int port() const { return port_; }

  // A new session for `host`; its previous one stops counting.
  Session Issue(const std::string& host);
  void Revoke(const std::string& host);

  // Reads every queued datagram, remembering when each session last proved
  // its host alive (LastBeaconMs); calls first(host) for the first valid
  // beacon of a session. Per-beacon work stays here, on a uint32 session id:
  // looking the host up by name in Liveness for each of 6,700 beacons a
  // second was a fifth of sauron's idle CPU at 1000 hosts.
  void Drain(const std::function<void(const std::string&)>& first);
  // Monotonic ms of the host's last accepted beacon in its current session; 0: none.
  int64_t LastBeaconMs(const std::string& host) const;

  int64_t accepted() const { return accepted_; }
  int64_t rejected() const { return rejected_; }
  // Of the rejected: no such session (revoked or never issued), bad tag or
  // size, counter not advancing (a replay).
  int64_t unknown_session() const { return unknown_session_; }
  int64_t bad_tag() const { return bad_tag_; }
  int64_t replayed() const { return replayed_; }
  // For the "lost" log line: what this host's current session last proved.
  std::string Describe(const std::string& host) const;

 private:
  struct Entry {
    std::string host;
    std::array<uint8_t, transport::kBeaconKeyBytes> key;  // inline: one cache line less per beacon
    uint64_t last_counter = 0;
    int64_t last_ms = 0;  // monotonic, of the last accepted beacon
  };
  int fd_ = -1;
  int port_ = 0;
  uint32_t next_id_;
  std::unordered_map<uint32_t, Entry> sessions_;
  std::unordered_map<std::string, uint32_t> by_host_;
  int64_t accepted_ = 0;
  int64_t rejected_ = 0;
  int64_t unknown_session_ = 0;
  int64_t bad_tag_ = 0;
  int64_t replayed_ = 0;
};

}  // namespace rv::sauron
