#include "overlay/reassembly.h"

#include <gtest/gtest.h>

#include <vector>

using namespace rv::overlay;
using R = Reassembler::Result;

namespace {
Header H(uint64_t counter, uint8_t idx, uint8_t count, uint16_t stride) {
  Header h;
  h.env_id = 1;
  h.epoch = 1;
  h.sender_id = 2;
  h.counter = counter;
  h.frag_index = idx;
  h.frag_count = count;
  h.frag_stride = stride;
  return h;
}
}  // namespace

TEST(Reassembly, OutOfOrderCompletes) {
  Reassembler r;
  std::vector<uint8_t> msg(250);
  for (size_t i = 0; i < msg.size(); i++) msg[i] = uint8_t(i * 7);
  uint8_t* out;
  size_t len;
  EXPECT_EQ(r.Add(H(5, 2, 3, 100), msg.data() + 200, 50, 0, &out, &len), R::kIncomplete);
  EXPECT_EQ(r.Add(H(5, 0, 3, 100), msg.data(), 100, 0, &out, &len), R::kIncomplete);
  EXPECT_EQ(r.Add(H(5, 0, 3, 100), msg.data(), 100, 0, &out, &len), R::kDuplicate);
  EXPECT_EQ(r.Add(H(5, 1, 3, 100), msg.data() + 100, 100, 0, &out, &len), R::kComplete);
  ASSERT_EQ(len, 250u);
  EXPECT_EQ(std::vector<uint8_t>(out, out + len), msg);
}

TEST(Reassembly, InconsistentAndEviction) {
  Reassembler r;
  uint8_t buf[200] = {};
  uint8_t* out;
  size_t len;
  EXPECT_EQ(r.Add(H(1, 0, 3, 100), buf, 100, 0, &out, &len), R::kIncomplete);
  EXPECT_EQ(r.Add(H(1, 1, 4, 100), buf, 100, 0, &out, &len), R::kBad);
  for (uint64_t c = 2; c <= Reassembler::kSlots; c++)
    EXPECT_EQ(r.Add(H(c, 0, 2, 100), buf, 100, int64_t(c), &out, &len), R::kIncomplete);
  // All slots busy: the oldest (counter 1) goes.
  EXPECT_EQ(r.Add(H(99, 0, 2, 100), buf, 100, 50, &out, &len), R::kEvictedOther);
  EXPECT_EQ(r.Add(H(1, 1, 3, 100), buf, 100, 60, &out, &len), R::kEvictedOther);
  EXPECT_EQ(r.Add(H(7, 63, 64, 1100), buf, 100, 0, &out, &len), R::kBad);  // past the buffer
}
