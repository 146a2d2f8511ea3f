// Metrics: the datapath's counters, one relaxed atomic per reason, so a worker
// counts a drop with one instruction and `overlayd --stats` can read them at
// any time. Every dropped packet is counted under exactly one drop_* reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace rv::overlay {

enum class Metric : int {
  kTxPackets, kTxBytes, kTxDatagrams, kTxSyscalls,
  kRxPackets, kRxBytes, kRxDatagrams, kRxSyscalls,
  kDropTunShort, kDropTunNotIpv4, kDropSpoofedSrc, kDropNoRoute, kDropNoKey, kDropTooBig,
  kDropSendError,
  kDropTruncated, kDropBadHeader, kDropBadFragment, kDropUnknownEnv, kDropUnknownEpoch,
  kDropUnknownSender, kDropReplay, kDropAuthFailed, kDropDupFragment, kDropReassemblyEvicted,
  kDropInnerBad, kDropNoLocalDst, kDropSrcNotFromSender, kDropTunWriteError, kDropTunUnknown,
  kControlApplied, kControlRejected, kLeaseExpired,
  kCount
};

const char* MetricName(Metric m);

class Metrics {
 public:
  void Add(Metric m, uint64_t n = 1) { v_[int(m)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t Get(Metric m) const { return v_[int(m)].load(std::memory_order_relaxed); }
  std::map<std::string, uint64_t> Snapshot() const;

 private:
  std::atomic<uint64_t> v_[int(Metric::kCount)] = {};
};

}  // namespace rv::overlay
