#include "common/ssh_key.h"

#include <gtest/gtest.h>

namespace rv {
namespace {

// Made with ssh-keygen -t ed25519; `ssh-keygen -lf` prints this fingerprint.
const char* kEd = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmacDSYqGkIxI3kR2wd/G0AtAZuAn8A/JI+eazChyLH me@x\n";
const char* kEdBlob = "AAAAC3NzaC1lZDI1NTE5AAAAIBmacDSYqGkIxI3kR2wd/G0AtAZuAn8A/JI+eazChyLH";
const char* kEdFp = "SHA256:V+qY4DGKt50ubQxjlb5WUp64cURs0f/mWpH3GMDhcFs";

}  // namespace

TEST(SshKey, ParsesAPubFileLineWithOpenSshsFingerprint) {
  auto k = SshPublicKey::Parse(kEd);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->type, "ssh-ed25519");
  EXPECT_EQ(k->blob_base64, kEdBlob);
  EXPECT_EQ(k->comment, "me@x");
  EXPECT_EQ(k->fingerprint, kEdFp);
}

TEST(SshKey, FromPartsGivesTheSameFingerprintAsTheLine) {
  auto k = SshPublicKey::FromParts("ssh-ed25519", kEdBlob);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->fingerprint, kEdFp);
  EXPECT_EQ(k->comment, "");
}

TEST(SshKey, RefusesABlobThatNamesAnotherType) {
  auto k = SshPublicKey::FromParts("ssh-rsa", kEdBlob);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("does not hold a ssh-rsa key"), std::string::npos);
}

TEST(SshKey, RefusesOptionsPrivateKeysGarbageAndSeveralLines) {
  auto opts = SshPublicKey::Parse(std::string("command=\"sh\" ") + kEd);
  ASSERT_FALSE(opts.ok());
  EXPECT_NE(opts.status().message().find("options"), std::string::npos) << opts.status().message();
  auto priv = SshPublicKey::Parse("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n");
  ASSERT_FALSE(priv.ok());
  EXPECT_NE(priv.status().message().find("private key: give the .pub file"), std::string::npos) << priv.status().message();
  // A lone base64 blob ends in '=' padding: not mistaken for options.
  auto blob = SshPublicKey::Parse("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GK==");
  ASSERT_FALSE(blob.ok());
  EXPECT_EQ(blob.status().message().find("options"), std::string::npos) << blob.status().message();
  EXPECT_FALSE(SshPublicKey::Parse("ssh-ed25519 !!notbase64!!").ok());
  EXPECT_FALSE(SshPublicKey::Parse("ssh-ed25519").ok());
  EXPECT_FALSE(SshPublicKey::Parse("").ok());
  EXPECT_FALSE(SshPublicKey::Parse("ssh-dss AAAAB3NzaC1kc3M=").ok());
  EXPECT_FALSE(SshPublicKey::Parse(std::string(kEd) + kEd).ok());
  EXPECT_FALSE(SshPublicKey::FromParts("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5").ok());  // type only
}

TEST(SshKey, RefusesABlobWithAByteOutsideBase64EvenWhereTheDecoderWouldTakeIt) {
  // fuzz_ssh_key's find: libsodium's decoder read 0xBE as a base64 letter.
  auto k = SshPublicKey::Parse(". ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\xbe" "A== \x17\xf3 \xd3");
  EXPECT_FALSE(k.ok());
  EXPECT_FALSE(SshPublicKey::FromParts("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5\xbe" "A==").ok());
  for (int c = 0x80; c <= 0xff; ++c) {
    std::string blob = std::string(kEd).substr(12, 20) + static_cast<char>(c) + "A==";
    EXPECT_FALSE(SshPublicKey::FromParts("ssh-ed25519", blob).ok()) << c;
  }
}

TEST(SshKey, CommentIsMadePrintable) {
  auto k = SshPublicKey::Parse(std::string("ssh-ed25519 ") + kEdBlob + " evil\x1b[2J");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->comment, "evil?[2J");
}

}  // namespace rv
