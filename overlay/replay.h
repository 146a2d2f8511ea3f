// ReplayWindow: the sliding-bitmap replay filter of WireGuard (RFC 6479 style),
// one per (environment, sender). A counter is accepted once; counters older
// than the window (kWindowSize behind the highest seen) are rejected, so
// reordering within ~8k messages is tolerated and replays never are.
//
// Check() is a pure pre-test used before spending an AEAD open; Accept() is
// called only after the message authenticated, so forged counters cannot move
// the window. Not thread-safe: owned by the receive worker.
#pragma once

#include <array>
#include <cstdint>

namespace rv::overlay {

class ReplayWindow {
 public:
  static constexpr int kBlockBits = 64;
  static constexpr int kRingBlocks = 128;
  static constexpr uint64_t kWindowSize = (kRingBlocks - 1) * kBlockBits;

  // Would `counter` be accepted now?
  bool Check(uint64_t counter) const;
  // Marks `counter` seen; false if it is a replay or too old.
  bool Accept(uint64_t counter);
  void Reset();
  uint64_t last() const { return last_; }

 private:
  std::array<uint64_t, kRingBlocks> ring_{};
  uint64_t last_ = 0;
  bool any_ = false;
};

}  // namespace rv::overlay
