#include "strider/proxy_reload.h"

#include <algorithm>

namespace rv::strider {

ProxyNotice ProxyReload::Oldest(ProxyNotice a, ProxyNotice b) {
  if (a.at_ms == 0) return b;
  if (b.at_ms == 0) return a;
  return a.at_ms <= b.at_ms ? a : b;
}

void ProxyReload::Changed(ProxyNotice notice) {
  pending_ = true;
  pending_runtime_only_ = false;
  send_at_ms_ = 0;
  pending_notice_ = Oldest(pending_notice_, notice);
}

void ProxyReload::AppliedByRuntime(int64_t now_ms, int64_t wait_ms) {
  if (!pending_) {
    pending_ = true;
    pending_runtime_only_ = true;
    first_runtime_ms_ = now_ms;
    send_at_ms_ = now_ms + wait_ms;
  } else if (pending_runtime_only_) {
    send_at_ms_ = std::min(std::max(send_at_ms_, now_ms + wait_ms), first_runtime_ms_ + kMaxRuntimeWaitMs);
  }
}

void ProxyReload::Settled() {
  if (!RuntimeOnly()) return;
  pending_ = false;
  pending_runtime_only_ = false;
  pending_notice_ = {};
}

void ProxyReload::Sent(int64_t count, int64_t now_ms) {
  in_flight_ = true;
  count_before_ = count;
  sent_ms_ = now_ms;
  flight_notice_ = pending_notice_;
  pending_ = false;
  pending_runtime_only_ = false;
  pending_notice_ = {};
}

ProxyReload::Taken ProxyReload::Observe(int64_t count, int64_t now_ms) {
  if (!in_flight_ || count < 0) return {};  // nothing sent, or the master is re-executing
  if (count > count_before_) {
    in_flight_ = false;
    ProxyNotice n = flight_notice_;
    flight_notice_ = {};
    return {true, n};
  }
  if (count < count_before_ || now_ms - sent_ms_ >= kLostAfterMs) {
    // Lost: what it carried is pending again.
    in_flight_ = false;
    Changed(flight_notice_);
    flight_notice_ = {};
  }
  return {};
}

}  // namespace rv::strider
