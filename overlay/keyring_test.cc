#include "overlay/keyring.h"

#include <gtest/gtest.h>

using namespace rv::overlay;

TEST(Keyring, SealOpenToHost) {
  auto host = NewHostKeyPair();
  auto other = NewHostKeyPair();
  EnvKey k = NewEnvKey(7, 3, AeadKind::kChaCha20Poly1305);
  auto sealed = SealEnvKey(k, host.public_key);
  ASSERT_TRUE(sealed.ok());
  auto opened = OpenEnvKey(*sealed, host.public_key, host.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->env_id, 7u);
  EXPECT_EQ(opened->epoch, 3u);
  EXPECT_EQ(opened->aead, AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(opened->key, k.key);
  EXPECT_FALSE(OpenEnvKey(*sealed, other.public_key, other.secret_key).ok());
  std::string t = *sealed;
  t[20] ^= 1;
  EXPECT_FALSE(OpenEnvKey(t, host.public_key, host.secret_key).ok());
  EXPECT_FALSE(OpenEnvKey(sealed->substr(1), host.public_key, host.secret_key).ok());
  EXPECT_FALSE(SealEnvKey(k, "short").ok());
  auto hex = ToHex(*sealed);
  EXPECT_EQ(*FromHex(hex), *sealed);
  EXPECT_FALSE(FromHex("zz").ok());
}

TEST(Keyring, KeepsTwoNewestEpochsAndForgets) {
  Keyring r;
  ASSERT_TRUE(r.Install(NewEnvKey(1, 1, AeadKind::kAes256Gcm)).ok());
  ASSERT_TRUE(r.Install(NewEnvKey(1, 2, AeadKind::kAes256Gcm)).ok());
  ASSERT_TRUE(r.Install(NewEnvKey(2, 1, AeadKind::kAes256Gcm)).ok());
  EXPECT_NE(r.Find(1, 1), nullptr);
  EXPECT_EQ(r.Newest(1)->epoch, 2u);
  ASSERT_TRUE(r.Install(NewEnvKey(1, 3, AeadKind::kAes256Gcm)).ok());
  EXPECT_EQ(r.Find(1, 1), nullptr);  // current + previous only
  EXPECT_EQ(r.Epochs(1), (std::vector<uint32_t>{2, 3}));
  // A rotation may switch the env's AEAD: the new epoch carries its own.
  ASSERT_TRUE(r.Install(NewEnvKey(1, 4, AeadKind::kChaCha20Poly1305)).ok());
  EXPECT_EQ(r.Find(1, 4)->aead, AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(r.Find(1, 3)->aead, AeadKind::kAes256Gcm);
  r.RetainOnly({2});
  EXPECT_EQ(r.Newest(1), nullptr);
  EXPECT_NE(r.Newest(2), nullptr);
  r.Forget(2);
  EXPECT_TRUE(r.Envs().empty());
}
