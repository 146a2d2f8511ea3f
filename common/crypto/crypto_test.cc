#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/crypto/sealed_box.h"
#include "common/crypto/secretbox.h"
#include "common/crypto/sha256.h"

namespace rv::crypto {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.OciDigest(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, DigestValidation) {
  EXPECT_TRUE(IsValidDigest(OciDigestOf("x")));
  EXPECT_FALSE(IsValidDigest("sha256:../../etc/passwd"));
  EXPECT_FALSE(IsValidDigest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(IsValidDigest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(IsValidDigest("sha256:" + std::string(63, 'a')));
}

TEST(SealedBox, RoundTripAndWrongKey) {
  auto host = GenerateBoxKeyPair();
  auto other = GenerateBoxKeyPair();
  auto sealed = SealEnv(host.public_key, {{"DATABASE_PASSWORD", "hunter2-s3cret"}});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  auto env = OpenSealedEnv(host, *sealed);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->vars().at("DATABASE_PASSWORD"), "hunter2-s3cret");
  auto bad = OpenSealedEnv(other, *sealed);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kDenied);
}

TEST(SealedBox, TamperedAndTruncatedRefused) {
  auto host = GenerateBoxKeyPair();
  auto sealed = Seal(host.public_key, "payload");
  ASSERT_TRUE(sealed.ok());
  std::string t = *sealed;
  t[t.size() - 1] ^= 1;
  EXPECT_FALSE(OpenSealed(host, t).ok());
  EXPECT_FALSE(OpenSealed(host, sealed->substr(0, 10)).ok());
  EXPECT_FALSE(Seal("short", "x").ok());
}

TEST(SealedBox, GarbageInsideBoxIsInvalidNotCrash) {
  auto host = GenerateBoxKeyPair();
  auto sealed = Seal(host.public_key, "\xc1\xff not msgpack");
  ASSERT_TRUE(sealed.ok());
  auto env = OpenSealedEnv(host, *sealed);
  EXPECT_FALSE(env.ok());
  EXPECT_TRUE(OpenSealedEnv(host, "").ok());  // no secrets
}

TEST(SealedBox, Z85KeyDecodes) {
  // A CURVE public key in Z85 (from ZeroMQ's RFC 32 test vector).
  auto raw = DecodeZ85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_FALSE(DecodeZ85Key("short").ok());
}

TEST(SecretBox, RoundTripTamperAndKeyFile) {
  auto dir = std::filesystem::temp_directory_path() / ("rvcrypto." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "secrets.key").string();
  auto k1 = SecretBoxKey::LoadOrCreate(path);
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k2 = SecretBoxKey::LoadOrCreate(path);  // same key back
  ASSERT_TRUE(k2.ok());
  std::string ct = k1->Encrypt("top secret");
  EXPECT_EQ(ct.find("top secret"), std::string::npos);
  auto pt = k2->Decrypt(ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(*pt, "top secret");
  ct[30] ^= 1;
  EXPECT_FALSE(k2->Decrypt(ct).ok());
  EXPECT_FALSE(k2->Decrypt("short").ok());
  EXPECT_FALSE(SecretBoxKey::Generate().Decrypt(k1->Encrypt("x")).ok());
  chmod(path.c_str(), 0644);
  EXPECT_EQ(SecretBoxKey::LoadOrCreate(path).status().code(), Status::Code::kDenied);
  std::ofstream(dir / "bad.key") << "tooshort";
  chmod((dir / "bad.key").c_str(), 0600);
  EXPECT_FALSE(SecretBoxKey::LoadOrCreate((dir / "bad.key").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace rv::crypto
