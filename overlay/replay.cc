#include "overlay/replay.h"

namespace rv::overlay {

bool ReplayWindow::Check(uint64_t counter) const {
  if (counter == UINT64_MAX) return false;  // reserved: the counter must never wrap
  if (!any_ || counter > last_) return true;
  if (last_ - counter > kWindowSize) return false;
  uint64_t block = (counter / kBlockBits) % kRingBlocks;
  return !(ring_[block] & (uint64_t{1} << (counter % kBlockBits)));
}

bool ReplayWindow::Accept(uint64_t counter) {
  if (!Check(counter)) return false;
  uint64_t index_block = counter / kBlockBits;
  if (!any_) {
    ring_.fill(0);
    any_ = true;
    last_ = counter;
  } else if (counter > last_) {
    uint64_t current = last_ / kBlockBits;
    uint64_t diff = index_block - current;
    if (diff > kRingBlocks) diff = kRingBlocks;
    for (uint64_t i = 1; i <= diff; i++) ring_[(current + i) % kRingBlocks] = 0;
    last_ = counter;
  }
  ring_[index_block % kRingBlocks] |= uint64_t{1} << (counter % kBlockBits);
  return true;
}

void ReplayWindow::Reset() {
  ring_.fill(0);
  last_ = 0;
  any_ = false;
}

}  // namespace rv::overlay
