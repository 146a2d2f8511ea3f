#include "overlay/reassembly.h"

#include <cstring>

namespace rv::overlay {

Reassembler::Reassembler() {
  for (auto& s : slots_) s.buf.reset(new uint8_t[kMaxMessage]);
}

Reassembler::Result Reassembler::Add(const Header& h, const uint8_t* payload, size_t len,
                                     int64_t now_ms, uint8_t** out, size_t* out_len) {
  size_t offset = size_t(h.frag_index) * h.frag_stride;
  if (h.frag_count < 2 || offset + len > kMaxMessage) return Result::kBad;
  Slot* slot = nullptr;
  for (auto& s : slots_)
    if (s.used && s.counter == h.counter && s.env == h.env_id && s.epoch == h.epoch) slot = &s;
  bool evicted = false;
  if (!slot) {
    Slot* oldest = nullptr;
    for (auto& s : slots_) {
      if (!s.used) { slot = &s; break; }
      if (!oldest || s.started_ms < oldest->started_ms ||
          (s.started_ms == oldest->started_ms && s.counter < oldest->counter))
        oldest = &s;
    }
    if (!slot) {
      slot = oldest;
      evicted = true;
    }
    slot->used = true;
    slot->env = h.env_id;
    slot->epoch = h.epoch;
    slot->counter = h.counter;
    slot->count = h.frag_count;
    slot->stride = h.frag_stride;
    slot->mask = 0;
    slot->received = 0;
    slot->total = 0;
    slot->started_ms = now_ms;
  } else if (slot->count != h.frag_count || slot->stride != h.frag_stride) {
    return Result::kBad;
  }
  uint64_t bit = uint64_t{1} << h.frag_index;
  if (slot->mask & bit) return Result::kDuplicate;
  memcpy(slot->buf.get() + offset, payload, len);
  slot->mask |= bit;
  slot->received++;
  if (h.frag_index + 1 == h.frag_count) slot->total = offset + len;
  if (slot->received == slot->count) {
    slot->used = false;
    *out = slot->buf.get();
    *out_len = slot->total;
    return Result::kComplete;
  }
  return evicted ? Result::kEvictedOther : Result::kIncomplete;
}

}  // namespace rv::overlay
