#include "common/transport/resubscribe_backoff.h"

#include <algorithm>

namespace rv::transport {

ResubscribeBackoff::ResubscribeBackoff(int64_t first_ms, int64_t max_ms)
    : first_(std::max<int64_t>(first_ms, 1)), max_(std::max(max_ms, first_)), next_(first_) {}

int64_t ResubscribeBackoff::Refused(int64_t now_ms) {
  if (at_ > 0) return 0;
  int64_t wait = next_;
  at_ = now_ms + wait;
  next_ = std::min(next_ * 2, max_);
  return wait;
}

}  // namespace rv::transport
