#include "common/counters.h"

namespace rv {

void Counters::Add(const std::string& name, int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[name] += n;
}

int64_t Counters::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(name);
  return it == values_.end() ? 0 : it->second;
}

std::map<std::string, int64_t> Counters::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_;
}

}  // namespace rv
