// Reassembler: puts the fragments of sealed messages from one sender back
// together (contract). A few fixed slots, allocated once per sender, hold
// messages in progress keyed by (env, epoch, counter); a fragment for a new
// message takes a free slot or evicts the oldest one (counted), so a lost
// fragment or a flood of fake fragments costs at most the slots, never memory
// growth. Fragments may arrive in any order; a duplicate is refused. Nothing
// here is authenticated: the caller opens the reassembled ciphertext and only
// then trusts it. Owned by the receive worker (not thread-safe).
#pragma once

#include <cstdint>
#include <memory>

#include "overlay/header.h"

namespace rv::overlay {

inline constexpr size_t kMaxMessage = 65536 + 256;

class Reassembler {
 public:
  static constexpr int kSlots = 4;

  enum class Result { kIncomplete, kComplete, kDuplicate, kBad, kEvictedOther };

  Reassembler();
  // Adds one fragment (header already decoded and geometry-checked). On
  // kComplete, *out/*out_len point at the contiguous ciphertext in a slot,
  // valid until the next Add. kEvictedOther means the fragment was stored
  // but an older message had to be dropped to make room.
  Result Add(const Header& h, const uint8_t* payload, size_t len, int64_t now_ms, uint8_t** out,
             size_t* out_len);

 private:
  struct Slot {
    bool used = false;
    uint32_t env = 0, epoch = 0;
    uint64_t counter = 0;
    uint8_t count = 0;
    uint16_t stride = 0;
    uint64_t mask = 0;
    int received = 0;
    size_t total = 0;  // known once the last fragment arrived
    int64_t started_ms = 0;
    std::unique_ptr<uint8_t[]> buf;
  };
  Slot slots_[kSlots];
};

}  // namespace rv::overlay
