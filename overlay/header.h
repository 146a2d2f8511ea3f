// Wire header of an overlay datagram (contract).
//
// Every UDP datagram between overlayd instances starts with this fixed 28-byte
// header, little-endian:
//
//   0  u8  type        kTypeData (anything else is dropped)
//   1  u8  frag_index  0..frag_count-1
//   2  u8  frag_count  1..kMaxFragments
//   3  u8  reserved    must be 0
//   4  u16 frag_stride payload bytes carried by every fragment but the last
//   6  u16 reserved    must be 0
//   8  u32 env_id      environment the payload is sealed for
//  12  u32 epoch       key epoch of that environment
//  16  u32 sender_id   host id of the sender (part of the AEAD nonce)
//  20  u64 counter     per-sender message counter (rest of the nonce, replay window)
//
// One *message* (a sealed [virtio_net_hdr | IP packet], possibly a 64 KB GSO
// superpacket) is split into frag_count fragments that repeat the header.
// Bytes 8..27 are the AEAD associated data, so env, epoch, sender and counter
// cannot be altered without the open failing; the fragment fields are checked
// structurally and any tampering makes the reassembled ciphertext fail to open.
//
// DecodeHeader never reads past `len` and accepts nothing it would not emit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rv::overlay {

inline constexpr uint8_t kTypeData = 1;
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kAdOffset = 8;   // associated data: header[8..28)
inline constexpr size_t kAdSize = 20;
inline constexpr int kMaxFragments = 64;
inline constexpr size_t kMinStride = 64;

struct Header {
  uint8_t type = kTypeData;
  uint8_t frag_index = 0;
  uint8_t frag_count = 1;
  uint16_t frag_stride = 0;
  uint32_t env_id = 0;
  uint32_t epoch = 0;
  uint32_t sender_id = 0;
  uint64_t counter = 0;
};

enum class DecodeError {
  kOk,
  kTruncated,      // shorter than the header
  kBadType,        // unknown type or non-zero reserved bytes
  kBadFragment,    // index/count/stride inconsistent with the datagram
};

void EncodeHeader(const Header& h, uint8_t* out);  // writes kHeaderSize bytes

// Decodes and checks the fragment geometry against the datagram length `len`
// (header included): a non-last fragment must carry exactly frag_stride bytes,
// the last one 1..frag_stride bytes, a single fragment any non-empty payload.
DecodeError DecodeHeader(const uint8_t* data, size_t len, Header* out);

const char* DecodeErrorName(DecodeError e);

}  // namespace rv::overlay
