// BeaconPump: a thread that ticks BeaconSenders, so a host's liveness beacons
// leave on time even while its agent's loop is busy (starting a container,
// decoding a large announce). One pump serves any number of senders: the
// strider daemon has one, the pod-scale simulator one for hundreds of hosts.
//
// The thread asks for real-time priority (SCHED_FIFO, the lowest level; a
// nice of -10 if that is refused): it runs for microseconds every tick, and a
// busy host (containers using every core, a build) must still be heard.
//
// Add/Remove may be called from any thread; a removed sender is never touched
// again once Remove returns. Senders keep their own watchdog (beacon_sender.h),
// so a wedged agent still falls silent.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "strider/beacon_sender.h"

namespace rv::strider {

class BeaconPump {
 public:
  explicit BeaconPump(int tick_ms = 10);
  ~BeaconPump();
  BeaconPump(const BeaconPump&) = delete;
  BeaconPump& operator=(const BeaconPump&) = delete;

  void Add(BeaconSender* sender);
  void Remove(BeaconSender* sender);
  // Times the thread woke far later than asked (the host is overloaded).
  int64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }

 private:
  void Run(std::stop_token stop);

  const int tick_ms_;
  std::mutex mu_;
  std::vector<BeaconSender*> senders_;
  std::atomic<int64_t> stalls_{0};
  std::jthread thread_;
};

}  // namespace rv::strider
