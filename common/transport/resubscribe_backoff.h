// ResubscribeBackoff: when a subscriber whose CURVE handshake was refused
// subscribes again. Pure: no I/O, the time is passed in.
//
// Contract: a refusal schedules one resubscription, first_ms after it; each
// further refusal before a Reset waits twice as long as the one before, up to
// max_ms. Refusals that come while one is scheduled (the refused socket may
// report several) change nothing. Reset (the handshake went through, or the
// server now knows the key) makes the next wait first_ms again.
// "Nothing scheduled" is due_at() == 0, so times must be > 0 (monotonic ms).
// Not thread-safe: owned by one subscriber.
#pragma once

#include <cstdint>

namespace rv::transport {

class ResubscribeBackoff {
 public:
  explicit ResubscribeBackoff(int64_t first_ms = 500, int64_t max_ms = 5000);

  // A refused handshake at now_ms: the wait scheduled, in ms, or 0 if a
  // resubscription was already scheduled (this refusal changes nothing).
  int64_t Refused(int64_t now_ms);
  // A resubscription is scheduled and its time has come.
  bool Due(int64_t now_ms) const { return at_ > 0 && now_ms >= at_; }
  // When the scheduled resubscription is due; 0: none is.
  int64_t due_at() const { return at_; }
  // The subscriber subscribed again: nothing is scheduled any more (the wait
  // keeps growing if the new one is refused too).
  void Resubscribed() { at_ = 0; }
  void Reset() { next_ = first_; }

 private:
  int64_t first_, max_;
  int64_t next_;    // the wait the next refusal schedules
  int64_t at_ = 0;  // when the scheduled resubscription is due
};

}  // namespace rv::transport
