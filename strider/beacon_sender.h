// BeaconSender: a host's end of the liveness beacons (common/transport/beacon.h).
// After sauron's welcome names a session, Tick sends one 20-byte UDP datagram
// every interval to sauron's beacon port; a new welcome replaces the session
// (its counter restarts). Sending never blocks and a failed send is only
// counted: liveness is sauron's judgement, not ours.
#pragma once

#include <cstdint>
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
  bool active() const { return fd_ >= 0; }
  int64_t sent() const { return sent_; }
  int64_t failed() const { return failed_; }

 private:
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
