// ProxyReload: whether an environment proxy's HAProxy runs the files the
// strider last wrote, and when to ask its master for a reload (docs/PROXY.md
// "What the strider does").
//
// A reload re-executes the master, which parses the files, forks a new
// worker and re-executes again; its reload count (`show proc`) moves once it
// is done, and its CLI does not answer meanwhile. That takes ~90 ms of CPU:
// 60-450 ms on this machine, seconds when CI runs pods side by side. So:
//
//  1. At most one reload is in flight. One sent while another still runs
//     would redo the same work and double the wait.
//  2. Files changed while a reload is in flight get one more reload once it
//     is taken: the master may have read them before or after the change.
//  3. A reload is lost when the master answers with the same count
//     kLostAfterMs after it was sent (one sent while HAProxy still started),
//     or with a lower one (the container restarted): it is sent again.
//  4. A change the runtime API already applied (replicas that left, put in
//     maintenance; replicas that came, added) may wait: its reload is sent
//     once no runtime change came for the wait the caller gives, and no
//     later than kMaxRuntimeWaitMs after the first, so a rolling deploy's
//     steps share one reload instead of meeting one in flight. A replica
//     that comes back meanwhile (a restart, same address) is brought back
//     the same way, and once the files are again what the last reload
//     loaded, the waiting reload is dropped. Any other change sends it at
//     once.
//  5. Each change carries the sauron notice it came from; a reload that is
//     taken reports the oldest notice it applied, for "configuration live"
//     timings. A notice that came after the files were sent waits for the
//     next reload, not the one in flight.
//
// Pure: the caller reads the count and sends the command. Not thread-safe:
// one refresh thread owns it.
#pragma once

#include <cstdint>

namespace rv::strider {

// A sauron notice: when it arrived (monotonic ms) and when sauron sent it
// (its wall clock). at_ms 0: no notice (a fallback refresh, a first start).
struct ProxyNotice {
  int64_t at_ms = 0;
  int64_t sauron_ms = 0;
};

class ProxyReload {
 public:
  static constexpr int64_t kLostAfterMs = 2000;

  // The files on disk changed for `notice`: reload at once.
  void Changed(ProxyNotice notice);
  static constexpr int64_t kMaxRuntimeWaitMs = 10000;

  // The files changed at now_ms, but the current worker already runs the
  // change (the runtime API): the reload may wait wait_ms from now (item 4).
  void AppliedByRuntime(int64_t now_ms, int64_t wait_ms);
  // HAProxy runs what the last reload loaded plus runtime changes only:
  // none in flight, nothing else pending. Only then may the runtime API
  // apply the next change.
  bool RuntimeOnly() const { return !in_flight_ && (!pending_ || pending_runtime_only_); }
  // The files are again what the last reload loaded (the runtime changes
  // undone): a waiting reload is dropped. Only when RuntimeOnly().
  void Settled();
  // Whether to send "reload" now: files changed since the last one sent,
  // none is in flight, and no change asked to wait past now_ms.
  bool ShouldSend(int64_t now_ms) const { return pending_ && !in_flight_ && now_ms >= send_at_ms_; }
  // "reload" was sent; `count` is the master's reload count read just before.
  void Sent(int64_t count, int64_t now_ms);

  struct Taken {
    bool taken = false;
    ProxyNotice notice;  // the oldest notice the taken reload applied
  };
  // The master's reload count as just read (-1: it did not answer).
  Taken Observe(int64_t count, int64_t now_ms);

  bool in_flight() const { return in_flight_; }
  // HAProxy runs the files on disk: nothing pending, nothing in flight.
  bool live() const { return !pending_ && !in_flight_; }

 private:
  static ProxyNotice Oldest(ProxyNotice a, ProxyNotice b);

  bool pending_ = false;
  ProxyNotice pending_notice_;
  int64_t send_at_ms_ = 0;
  int64_t first_runtime_ms_ = 0;  // when the runtime change that made it pending came
  bool pending_runtime_only_ = false;  // everything pending was applied by the runtime API
  bool in_flight_ = false;
  int64_t count_before_ = -1;
  int64_t sent_ms_ = 0;
  ProxyNotice flight_notice_;
};

}  // namespace rv::strider
