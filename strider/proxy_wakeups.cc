#include "strider/proxy_wakeups.h"

namespace rv::strider {

uint64_t ProxyWakeups::Add(const std::string& env, Wake wake) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_++;
  by_id_.emplace(id, std::make_pair(env, std::move(wake)));
  return id;
}

void ProxyWakeups::Remove(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  by_id_.erase(id);
}

int ProxyWakeups::Notify(const std::string& env, int64_t sauron_event_ms) {
  std::lock_guard<std::mutex> l(mu_);
  ++notices_;
  int n = 0;
  for (auto& [id, e] : by_id_) {
    if (e.first != env) continue;
    e.second(sauron_event_ms);
    ++n;
  }
  return n;
}

int64_t ProxyWakeups::notices() const {
  std::lock_guard<std::mutex> l(mu_);
  return notices_;
}

}  // namespace rv::strider
