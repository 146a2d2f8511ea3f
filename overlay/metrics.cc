#include "overlay/metrics.h"

namespace rv::overlay {

const char* MetricName(Metric m) {
  static const char* names[] = {
      "tx_packets", "tx_bytes", "tx_datagrams", "tx_syscalls",
      "rx_packets", "rx_bytes", "rx_datagrams", "rx_syscalls",
      "drop_tun_short", "drop_tun_not_ipv4", "drop_spoofed_src", "drop_no_route", "drop_no_key",
      "drop_too_big", "drop_send_error",
      "drop_truncated", "drop_bad_header", "drop_bad_fragment", "drop_unknown_env",
      "drop_unknown_epoch", "drop_unknown_sender", "drop_replay", "drop_auth_failed",
      "drop_dup_fragment", "drop_reassembly_evicted", "drop_inner_bad", "drop_no_local_dst",
      "drop_src_not_from_sender", "drop_tun_write_error", "drop_tun_unknown",
      "control_applied", "control_rejected", "lease_expired",
  };
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(Metric::kCount));
  return names[int(m)];
}

std::map<std::string, uint64_t> Metrics::Snapshot() const {
  std::map<std::string, uint64_t> out;
  for (int i = 0; i < int(Metric::kCount); i++) out[MetricName(Metric(i))] = Get(Metric(i));
  return out;
}

}  // namespace rv::overlay
