#include "sauron/pod_ca.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rv::sauron {
namespace {

constexpr int64_t kNow = 1796400000000;  // 2026-12-04
constexpr int64_t kDay = 86400000;

std::unique_ptr<PodCa> NewCa(const std::string& cn = "test pod CA") {
  auto ca = PodCa::Generate(cn, kNow);
  EXPECT_TRUE(ca.ok()) << ca.status().message();
  return std::move(*ca);
}

TEST(PodCa, IssuesALeafThatVerifiesAgainstTheCaForItsNameOnly) {
  auto ca = NewCa();
  auto c = ca->Issue("web.prod.acme.rivendell.test", kNow);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(VerifyAgainstCa(c->cert_pem, ca->cert_pem(), "web.prod.acme.rivendell.test", kNow), "");
  EXPECT_NE(VerifyAgainstCa(c->cert_pem, ca->cert_pem(), "other.rivendell.test", kNow), "");
  // The chain is leaf + CA; the key is an EC key.
  EXPECT_NE(c->cert_pem.find(ca->cert_pem()), std::string::npos);
  EXPECT_NE(c->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_NEAR(static_cast<double>(c->not_after_ms - kNow), 90.0 * kDay, 2000.0);
  // Not after its expiry, and not against another CA.
  EXPECT_NE(VerifyAgainstCa(c->cert_pem, ca->cert_pem(), "web.prod.acme.rivendell.test", kNow + 91 * kDay), "");
  auto other = NewCa("another CA");
  EXPECT_NE(VerifyAgainstCa(c->cert_pem, other->cert_pem(), "web.prod.acme.rivendell.test", kNow), "");
}

TEST(PodCa, EachIssueHasItsOwnKey) {
  auto ca = NewCa();
  auto a = ca->Issue("a.example.com", kNow);
  auto b = ca->Issue("a.example.com", kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->key_pem, b->key_pem);
  EXPECT_NE(a->cert_pem, b->cert_pem);
}

TEST(PodCa, LoadsTheFilesScriptsPodCaWrites) {
  auto ca = NewCa();
  auto dir = std::filesystem::temp_directory_path() / ("rv-podca-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "pod-ca.key") << *ca->KeyPemForTest();
  std::ofstream(dir / "pod-ca.crt") << ca->cert_pem();
  auto loaded = PodCa::Load((dir / "pod-ca").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto c = (*loaded)->Issue("x.example.com", kNow);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyAgainstCa(c->cert_pem, ca->cert_pem(), "x.example.com", kNow), "");
  EXPECT_FALSE(PodCa::Load((dir / "missing").string()).ok());
  // A key that is not the certificate's is refused.
  auto other = NewCa();
  std::ofstream(dir / "pod-ca.key") << *other->KeyPemForTest();
  auto mismatched = PodCa::Load((dir / "pod-ca").string());
  EXPECT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not match"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(PodCa, AcceptsTheOperatorsOwnCertificateForItsName) {
  auto ca = NewCa("Operator CA");
  auto c = ca->Issue("shop.example.com", kNow);
  ASSERT_TRUE(c.ok());
  auto ok = CheckOwnCert("shop.example.com", c->cert_pem, c->key_pem, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->not_after_ms, c->not_after_ms);
  EXPECT_NE(ok->issuer.find("Operator CA"), std::string::npos);
}

TEST(PodCa, RefusesAnOwnCertificateWithTheReason) {
  auto ca = NewCa();
  auto c = ca->Issue("shop.example.com", kNow);
  auto d = ca->Issue("shop.example.com", kNow);
  ASSERT_TRUE(c.ok() && d.ok());
  struct Case {
    std::string name, cert, key;
    int64_t now;
    std::string why;
  } cases[] = {
      {"shop.example.com", c->cert_pem, d->key_pem, kNow, "does not match"},
      {"other.example.com", c->cert_pem, c->key_pem, kNow, "does not cover"},
      {"shop.example.com", c->cert_pem, c->key_pem, kNow + 100 * kDay, "expired"},
      {"shop.example.com", "garbage", c->key_pem, kNow, "no PEM certificate"},
      {"shop.example.com", c->cert_pem, "garbage", kNow, "no unencrypted PEM private key"},
      {"shop.example.com", std::string(70000, 'x'), c->key_pem, kNow, "64 KiB"},
  };
  for (const auto& k : cases) {
    auto r = CheckOwnCert(k.name, k.cert, k.key, k.now);
    ASSERT_FALSE(r.ok()) << k.why;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalid);
    EXPECT_NE(r.status().message().find(k.why), std::string::npos) << r.status().message();
    // Never the key in an error.
    EXPECT_EQ(r.status().message().find("PRIVATE KEY"), std::string::npos);
  }
}

}  // namespace
}  // namespace rv::sauron
