#include "overlay/header.h"

#include <gtest/gtest.h>

#include <vector>

using namespace rv::overlay;

namespace {
std::vector<uint8_t> Dgram(const Header& h, size_t payload) {
  std::vector<uint8_t> v(kHeaderSize + payload, 0xab);
  EncodeHeader(h, v.data());
  return v;
}
}  // namespace

TEST(Header, RoundTrip) {
  Header h;
  h.env_id = 0x01020304;
  h.epoch = 9;
  h.sender_id = 77;
  h.counter = 0x1122334455667788ull;
  auto v = Dgram(h, 10);
  Header d;
  ASSERT_EQ(DecodeHeader(v.data(), v.size(), &d), DecodeError::kOk);
  EXPECT_EQ(d.env_id, h.env_id);
  EXPECT_EQ(d.epoch, 9u);
  EXPECT_EQ(d.sender_id, 77u);
  EXPECT_EQ(d.counter, h.counter);
  EXPECT_EQ(v[8], 0x04);  // little-endian on the wire
}

TEST(Header, RejectsTruncatedAndEmpty) {
  Header h, d;
  auto v = Dgram(h, 0);
  for (size_t n = 0; n <= kHeaderSize; n++) EXPECT_EQ(DecodeHeader(v.data(), n, &d), DecodeError::kTruncated);
}

TEST(Header, RejectsUnknownTypeAndReserved) {
  Header h, d;
  auto v = Dgram(h, 4);
  v[0] = 2;
  EXPECT_EQ(DecodeHeader(v.data(), v.size(), &d), DecodeError::kBadType);
  v[0] = kTypeData;
  v[3] = 1;
  EXPECT_EQ(DecodeHeader(v.data(), v.size(), &d), DecodeError::kBadType);
  v[3] = 0;
  v[7] = 1;
  EXPECT_EQ(DecodeHeader(v.data(), v.size(), &d), DecodeError::kBadType);
}

TEST(Header, FragmentGeometry) {
  Header h, d;
  h.frag_count = 3;
  h.frag_stride = 100;
  h.frag_index = 0;
  EXPECT_EQ(DecodeHeader(Dgram(h, 100).data(), kHeaderSize + 100, &d), DecodeError::kOk);
  EXPECT_EQ(DecodeHeader(Dgram(h, 99).data(), kHeaderSize + 99, &d), DecodeError::kBadFragment);
  h.frag_index = 2;  // last: 1..stride
  EXPECT_EQ(DecodeHeader(Dgram(h, 5).data(), kHeaderSize + 5, &d), DecodeError::kOk);
  EXPECT_EQ(DecodeHeader(Dgram(h, 101).data(), kHeaderSize + 101, &d), DecodeError::kBadFragment);
  h.frag_index = 3;  // out of range
  EXPECT_EQ(DecodeHeader(Dgram(h, 5).data(), kHeaderSize + 5, &d), DecodeError::kBadFragment);
  h.frag_index = 0;
  h.frag_count = kMaxFragments + 1;
  EXPECT_EQ(DecodeHeader(Dgram(h, 100).data(), kHeaderSize + 100, &d), DecodeError::kBadFragment);
  h.frag_count = 2;
  h.frag_stride = kMinStride - 1;
  EXPECT_EQ(DecodeHeader(Dgram(h, kMinStride - 1).data(), kHeaderSize + kMinStride - 1, &d),
            DecodeError::kBadFragment);
  Header single;
  single.frag_stride = 5;  // single fragments carry no stride
  EXPECT_EQ(DecodeHeader(Dgram(single, 5).data(), kHeaderSize + 5, &d), DecodeError::kBadFragment);
}
