#include "overlay/header.h"

#include <cstring>

namespace rv::overlay {
namespace {

// Explicit little-endian, so the format does not depend on the host.
void Put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
void Put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i)); }
void Put64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i)); }
uint16_t Get16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t Get64(const uint8_t* p) { return uint64_t(Get32(p)) | uint64_t(Get32(p + 4)) << 32; }

}  // namespace

void EncodeHeader(const Header& h, uint8_t* out) {
  out[0] = h.type;
  out[1] = h.frag_index;
  out[2] = h.frag_count;
  out[3] = 0;
  Put16(out + 4, h.frag_stride);
  Put16(out + 6, 0);
  Put32(out + 8, h.env_id);
  Put32(out + 12, h.epoch);
  Put32(out + 16, h.sender_id);
  Put64(out + 20, h.counter);
}

DecodeError DecodeHeader(const uint8_t* data, size_t len, Header* out) {
  if (len < kHeaderSize) return DecodeError::kTruncated;
  if (data[0] != kTypeData || data[3] != 0 || Get16(data + 6) != 0) return DecodeError::kBadType;
  Header h;
  h.type = data[0];
  h.frag_index = data[1];
  h.frag_count = data[2];
  h.frag_stride = Get16(data + 4);
  h.env_id = Get32(data + 8);
  h.epoch = Get32(data + 12);
  h.sender_id = Get32(data + 16);
  h.counter = Get64(data + 20);
  size_t payload = len - kHeaderSize;
  if (payload == 0) return DecodeError::kTruncated;
  if (h.frag_count == 0 || h.frag_count > kMaxFragments || h.frag_index >= h.frag_count)
    return DecodeError::kBadFragment;
  if (h.frag_count == 1) {
    if (h.frag_stride != 0) return DecodeError::kBadFragment;
  } else {
    if (h.frag_stride < kMinStride) return DecodeError::kBadFragment;
    bool last = h.frag_index + 1 == h.frag_count;
    if (last ? payload > h.frag_stride : payload != h.frag_stride) return DecodeError::kBadFragment;
  }
  *out = h;
  return DecodeError::kOk;
}

const char* DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kOk: return "ok";
    case DecodeError::kTruncated: return "truncated";
    case DecodeError::kBadType: return "bad_type";
    case DecodeError::kBadFragment: return "bad_fragment";
  }
  return "unknown";
}

}  // namespace rv::overlay
