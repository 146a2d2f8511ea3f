// Counters: named monotonic counters a daemon exposes (rejected messages,
// refused connections, ...) so operators can see bad input without reading logs.
// Thread-safe; names are created on first use.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace rv {

class Counters {
 public:
  void Add(const std::string& name, int64_t n = 1);
  int64_t Get(const std::string& name) const;
  std::map<std::string, int64_t> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> values_;
};

}  // namespace rv
