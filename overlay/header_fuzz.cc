// libFuzzer target for the datagram decoder: DecodeHeader must never read out
// of bounds, must accept only what EncodeHeader emits (round trip), and the
// reassembler must stay within its buffers for any accepted fragment.
// Built with clang when RV_FUZZ=ON; overlay_unit_test replays fuzz_corpus/.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "overlay/header.h"
#include "overlay/reassembly.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rv::overlay;
  static Reassembler* reasm = new Reassembler();
  Header h;
  if (DecodeHeader(data, size, &h) != DecodeError::kOk) return 0;
  uint8_t again[kHeaderSize];
  EncodeHeader(h, again);
  if (memcmp(again, data, kHeaderSize) != 0) abort();
  if (h.frag_count > 1) {
    uint8_t* out = nullptr;
    size_t out_len = 0;
    auto r = reasm->Add(h, data + kHeaderSize, size - kHeaderSize, 0, &out, &out_len);
    if (r == Reassembler::Result::kComplete && out_len > kMaxMessage) abort();
  }
  return 0;
}
