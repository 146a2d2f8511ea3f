// HostResources: what this machine has and has free, before the agent's own
// reservations are taken off.
//
// Real values come from /proc/meminfo (MemTotal, MemAvailable) and statvfs of
// the data dir; CPU capacity from the online core count. Each dimension can be
// overridden (simulation: a thousand "hosts" in one process each claim the
// capacity they are told, and the override is then also their free amount,
// because a simulated host has nothing else running on it).
#pragma once

#include <cstdint>
#include <string>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv::strider {

struct CapacityOverride {
  int64_t ram_mb = 0;      // 0 = measure
  int64_t disk_mb = 0;
  int64_t cpu_millis = 0;
};

struct Measured {
  msg::Resources capacity;
  msg::Resources free;
};

// Parses the text of /proc/meminfo into (MemTotal, MemAvailable) in MiB.
Status ParseMeminfo(const std::string& text, int64_t* total_mb, int64_t* available_mb);

class HostResources {
 public:
  HostResources(std::string data_dir, CapacityOverride ov) : data_dir_(std::move(data_dir)), ov_(ov) {}

  // Measures now. Overridden dimensions are not measured (cheap for simulation).
  Result<Measured> Measure() const;

 private:
  std::string data_dir_;
  CapacityOverride ov_;
};

}  // namespace rv::strider
