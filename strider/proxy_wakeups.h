// ProxyWakeups: the env proxies of this host that want to hear when sauron
// says their environment's views may have changed ("proxy.changed",
// docs/PROXY.md "Refresh"). ProxyNoticeListener calls Notify; each
// ProxyWorkload registers a wake function for its env while it refreshes.
//
// Contract: thread-safe. Wake functions run on the notifying thread under the
// registry's lock, so they must be quick and must not call back into it; once
// Remove(id) returns, that function is never called again (a workload can be
// destroyed right after).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace rv::strider {

class ProxyWakeups {
 public:
  // `wake(sauron_event_ms)`: the event's time on sauron's clock.
  using Wake = std::function<void(int64_t sauron_event_ms)>;
  uint64_t Add(const std::string& env, Wake wake);
  void Remove(uint64_t id);
  // Wakes every proxy of `env`; returns how many.
  int Notify(const std::string& env, int64_t sauron_event_ms);
  int64_t notices() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::pair<std::string, Wake>> by_id_;
  int64_t notices_ = 0;
};

}  // namespace rv::strider
