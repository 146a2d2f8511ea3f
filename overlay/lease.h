// Lease: overlayd's dead-man switch for the state its driver applied
// (contract). A strider's OverlayDriver applies documents over the control
// socket and sends "keepalive" between them; if neither arrives within
// lease_ms, the strider is presumed dead and overlayd wipes every
// environment's keys and routes (Device::Wipe), so a host whose agent died
// does not keep decrypting its environments' traffic. A strider that comes
// back finds `held() == false` in the keepalive reply and applies again.
//
//  * Only state applied over the socket is leased: a document given with
//    `overlayd run --config FILE` is the operator's static configuration.
//  * lease_ms = 0 turns the lease off.
//  * Pure logic over an injected clock (now_ms); not thread-safe (overlayd
//    guards it with its apply mutex).
#pragma once

#include <cstdint>

namespace rv::overlay {

class Lease {
 public:
  explicit Lease(int64_t lease_ms) : lease_ms_(lease_ms) {}

  // An apply over the socket succeeded: the state is held and the lease runs.
  void Applied(int64_t now_ms) {
    held_ = lease_ms_ > 0;
    last_ms_ = now_ms;
  }
  // A keepalive: extends a running lease; returns whether state is held
  // (false: nothing applied yet, or wiped: the driver must apply again).
  bool Keepalive(int64_t now_ms) {
    if (held_) last_ms_ = now_ms;
    return held_;
  }
  // True exactly once when a held lease has run out; the caller wipes.
  bool Expire(int64_t now_ms) {
    if (!held_ || now_ms - last_ms_ < lease_ms_) return false;
    held_ = false;
    return true;
  }
  bool held() const { return held_; }
  int64_t lease_ms() const { return lease_ms_; }
  // ms left before expiry (0 when not held).
  int64_t Remaining(int64_t now_ms) const { return held_ ? lease_ms_ - (now_ms - last_ms_) : 0; }

 private:
  int64_t lease_ms_;
  bool held_ = false;
  int64_t last_ms_ = 0;
};

}  // namespace rv::overlay
