#include "common/oci/registry_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/oci/registry_client.h"

namespace rv::oci {
namespace {

TEST(RegistryCredential, ParsesUserAndPasswordWithATrailingNewline) {
  auto c = ParseCredential("rv-push:s3cret-Pass_word\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "rv-push");
  EXPECT_EQ(c->password, "s3cret-Pass_word");
}

TEST(RegistryCredential, PasswordMayHoldColons) {
  auto c = ParseCredential("u:a:b:c:d:e:f");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->password, "a:b:c:d:e:f");
}

TEST(RegistryCredential, RefusesMalformedLinesWithoutEchoingThePassword) {
  for (const char* bad : {"", "nocolon", ":password1", "us er:password1", "user:short", "user:has space1",
                          "user:pass\nword2", "u\xc3\xa9:password1"}) {
    auto c = ParseCredential(bad);
    EXPECT_FALSE(c.ok()) << bad;
  }
  auto c = ParseCredential("user:has space-secret");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("secret"), std::string::npos) << c.status().message();
}

class CredentialFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rv-regauth-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "cred").string();
    std::ofstream(path_) << "rv-pull:0123456789abcdef\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(CredentialFile, LoadsAFileOnlyItsOwnerMayRead) {
  chmod(path_.c_str(), 0600);
  auto c = LoadCredential(path_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "rv-pull");
}

TEST_F(CredentialFile, RefusesAFileOthersMayRead) {
  chmod(path_.c_str(), 0644);
  auto c = LoadCredential(path_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(CredentialFile, RefusesAMissingFile) {
  EXPECT_FALSE(LoadCredential(path_ + ".none").ok());
}

TEST(RegistryBaseUrl, ACaFileMeansHttpsForABareHostPort) {
  EXPECT_EQ(RegistryBaseUrl("10.0.0.1:5000", true), "https://10.0.0.1:5000");
  EXPECT_EQ(RegistryBaseUrl("10.0.0.1:5000", false), "http://10.0.0.1:5000");
  EXPECT_EQ(RegistryBaseUrl("http://h:1/", true), "http://h:1");
}

TEST(CredentialTransport, NeverSendsCredentialsOverPlainHttp) {
  EXPECT_FALSE(CheckCredentialTransport("http://h:1", true).ok());
  EXPECT_TRUE(CheckCredentialTransport("https://h:1", true).ok());
  EXPECT_TRUE(CheckCredentialTransport("http://h:1", false).ok());
}

TEST(RefusalStatus, Says401IsRefusedCredentialsAnd403OnAWriteIsMayNotPush) {
  auto s = RefusalStatus(401, "GET", "https://r:1", true);
  EXPECT_EQ(s.code(), Status::Code::kDenied);
  EXPECT_NE(s.message().find("refused the credentials"), std::string::npos);
  s = RefusalStatus(401, "HEAD", "https://r:1", false);
  EXPECT_NE(s.message().find("needs credentials"), std::string::npos);
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
    s = RefusalStatus(403, m, "https://r:1", true);
    EXPECT_EQ(s.code(), Status::Code::kDenied);
    EXPECT_NE(s.message().find("may not push"), std::string::npos) << m;
  }
  EXPECT_NE(RefusalStatus(403, "GET", "https://r:1", true).message().find("may not read"), std::string::npos);
  EXPECT_TRUE(RefusalStatus(200, "PUT", "https://r:1", true).ok());
  EXPECT_TRUE(RefusalStatus(404, "GET", "https://r:1", true).ok());
}

TEST(RegistryClientAuth, RefusesToSendCredentialsWithoutTlsBeforeAnyRequest) {
  auto dir = std::filesystem::temp_directory_path() / ("rv-regauth-c" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cred = (dir / "cred").string();
  std::ofstream(cred) << "rv-push:0123456789abcdef\n";
  chmod(cred.c_str(), 0600);
  // Port 9 on loopback: were a request made it would fail as unreachable, not Invalid.
  RegistryClient c({.registry = "127.0.0.1:9", .auth_file = cred});
  Status s = c.Ping();
  std::filesystem::remove_all(dir);
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
  EXPECT_NE(s.message().find("only sent over https"), std::string::npos);
  EXPECT_EQ(s.message().find("0123456789abcdef"), std::string::npos);
}

TEST(RegistryClientAuth, ACaFileMakesTheClientUseHttps) {
  RegistryClient c({.registry = "127.0.0.1:9", .ca_file = "/nonexistent/ca.crt"});
  EXPECT_EQ(c.base_url(), "https://127.0.0.1:9");
}

}  // namespace
}  // namespace rv::oci
