#include "strider/beacon_pump.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace rv::strider {

BeaconPump::BeaconPump(int tick_ms) : tick_ms_(std::max(1, tick_ms)) {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

BeaconPump::~BeaconPump() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void BeaconPump::Add(BeaconSender* sender) {
  std::lock_guard lock(mu_);
  if (std::find(senders_.begin(), senders_.end(), sender) == senders_.end()) senders_.push_back(sender);
}

void BeaconPump::Remove(BeaconSender* sender) {
  // Holding mu_ here waits out a tick in progress, which holds it too.
  std::lock_guard lock(mu_);
  senders_.erase(std::remove(senders_.begin(), senders_.end(), sender), senders_.end());
}

namespace {
void RaisePriority() {
  sched_param p{};
  p.sched_priority = sched_get_priority_min(SCHED_FIFO);
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0) return;
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), -10);  // unprivileged: keep the default
}
}  // namespace

void BeaconPump::Run(std::stop_token stop) {
  RaisePriority();
  int64_t last = MonotonicMs();
  while (!stop.stop_requested()) {
    {
      std::lock_guard lock(mu_);
      int64_t now = MonotonicMs();
      if (now - last > 20 * tick_ms_ + 100) {
        stalls_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("beacon thread was not scheduled for {} ms: sauron may think this host silent", now - last);
      }
      last = now;
      for (BeaconSender* s : senders_) s->Tick(now);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms_));
  }
}

}  // namespace rv::strider
