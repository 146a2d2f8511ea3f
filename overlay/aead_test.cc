#include "overlay/aead.h"

#include <gtest/gtest.h>

#include <vector>

using namespace rv::overlay;

namespace {
Key K(uint8_t b) {
  Key k;
  k.fill(b);
  return k;
}
}  // namespace

TEST(Aead, ChoiceFollowsCapability) {
  EXPECT_EQ(ChooseAead(true), AeadKind::kAes256Gcm);
  EXPECT_EQ(ChooseAead(false), AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(*ParseAead("aes256gcm"), AeadKind::kAes256Gcm);
  EXPECT_EQ(*ParseAead("chacha20poly1305"), AeadKind::kChaCha20Poly1305);
  EXPECT_FALSE(ParseAead("rot13").ok());
  auto a = Aead::Create(AeadKind::kAes256Gcm, K(1));
  EXPECT_EQ(a.ok(), AesGcmAvailable());  // refused, not silently switched, without AES-NI
}

TEST(Aead, SealOpenBothKinds) {
  for (AeadKind kind : {AeadKind::kAes256Gcm, AeadKind::kChaCha20Poly1305}) {
    if (kind == AeadKind::kAes256Gcm && !AesGcmAvailable()) continue;
    auto a = Aead::Create(kind, K(7));
    ASSERT_TRUE(a.ok());
    std::vector<uint8_t> buf(1000 + kTagSize);
    for (size_t i = 0; i < 1000; i++) buf[i] = uint8_t(i);
    uint8_t ad[20] = {1, 2, 3};
    (*a)->Seal(buf.data(), 1000, ad, 20, 3, 99);
    EXPECT_NE(buf[5], 5);
    auto copy = buf;
    EXPECT_TRUE((*a)->Open(buf.data(), buf.size(), ad, 20, 3, 99));
    EXPECT_EQ(buf[5], 5);
    // Wrong nonce, wrong AD, flipped bit, other key, other algorithm: all refused.
    auto t = copy;
    EXPECT_FALSE((*a)->Open(t.data(), t.size(), ad, 20, 4, 99));
    t = copy;
    EXPECT_FALSE((*a)->Open(t.data(), t.size(), ad, 20, 3, 100));
    t = copy;
    uint8_t ad2[20] = {1, 2, 4};
    EXPECT_FALSE((*a)->Open(t.data(), t.size(), ad2, 20, 3, 99));
    t = copy;
    t[10] ^= 1;
    EXPECT_FALSE((*a)->Open(t.data(), t.size(), ad, 20, 3, 99));
    t = copy;
    auto other = Aead::Create(kind, K(8));
    EXPECT_FALSE((*other)->Open(t.data(), t.size(), ad, 20, 3, 99));
    AeadKind ok = kind == AeadKind::kAes256Gcm ? AeadKind::kChaCha20Poly1305 : AeadKind::kAes256Gcm;
    if (ok == AeadKind::kChaCha20Poly1305 || AesGcmAvailable()) {
      t = copy;
      auto third = Aead::Create(ok, K(7));
      EXPECT_FALSE((*third)->Open(t.data(), t.size(), ad, 20, 3, 99));
    }
    EXPECT_FALSE((*a)->Open(t.data(), 5, ad, 20, 3, 99));
  }
}
