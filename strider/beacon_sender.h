// BeaconSender: a host's end of the liveness beacons (common/transport/beacon.h).
// After sauron's welcome names a session, Tick sends one 20-byte UDP datagram
// every interval to sauron's beacon port; a new welcome replaces the session
// (its counter restarts). Sending never blocks and a failed send is only
// counted: liveness is sauron's judgement, not ours.
//
// Thread-safe: the agent's loop starts and stops sessions while a BeaconPump
// (beacon_pump.h) may tick from its own thread. Beacons say "this host's
// strider is alive", so they must not stop because the agent's loop is busy
// for a moment (a slow runc, a big announce) — but neither may a wedged loop
// keep its host looking healthy forever: with a watchdog set, Tick sends
// nothing once MarkAlive has not been called for watchdog_ms.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"

namespace rv::strider {

class BeaconSender {
 public:
  BeaconSender() = default;
  ~BeaconSender();
  BeaconSender(const BeaconSender&) = delete;
  BeaconSender& operator=(const BeaconSender&) = delete;

  // `host` is an IPv4 address or a name; "*" and "0.0.0.0" mean this machine.
  Status Start(const std::string& host, int port, uint32_t session, const std::string& key, int interval_ms);
  void Stop();
  void Tick(int64_t now_ms);
  // The owner's loop calls this every turn; 0 disables the watchdog.
  void MarkAlive(int64_t now_ms) { alive_ms_.store(now_ms, std::memory_order_relaxed); }
  void SetWatchdog(int watchdog_ms) { watchdog_ms_ = watchdog_ms; }
  bool active() const;
  int64_t sent() const;
  int64_t failed() const;
  int64_t withheld() const;

 private:
  void CloseLocked();

  mutable std::mutex mu_;
  std::atomic<int64_t> alive_ms_{0};
  int watchdog_ms_ = 0;
  int64_t withheld_ = 0;
  int fd_ = -1;
  uint32_t session_ = 0;
  std::string key_;
  uint64_t counter_ = 0;
  int interval_ms_ = 0;
  int64_t next_ms_ = 0;
  int64_t sent_ = 0;
  int64_t failed_ = 0;
};

// "tcp://host:port" -> "host" ("" if it is not of that form).
std::string EndpointHost(const std::string& endpoint);

}  // namespace rv::strider
