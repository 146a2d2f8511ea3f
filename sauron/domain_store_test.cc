#include "sauron/domain_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sauron/pod_ca.h"

namespace rv::sauron {
namespace {

class DomainStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-domains-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    key_ = std::make_unique<crypto::SecretBoxKey>(crypto::SecretBoxKey::Generate());
    Reopen();
  }
  void TearDown() override {
    s_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    s_.reset();
    auto s = DomainStore::Open((dir_ / "db").string(), *key_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
  }
  std::string DbBytes() {
    std::string all;
    for (const auto& f : std::filesystem::directory_iterator(dir_)) {
      std::ifstream in(f.path(), std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  names::AppRef web_{"acme", "prod", "web"};
  names::AppRef api_{"acme", "prod", "api"};
  names::AppRef other_{"globex", "prod", "web"};
  std::filesystem::path dir_;
  std::unique_ptr<crypto::SecretBoxKey> key_;
  std::unique_ptr<DomainStore> s_;
};

TEST_F(DomainStoreTest, ANameBelongsToOneAppOnly) {
  EXPECT_TRUE(*s_->AddName("shop.example.com", web_, false, 1));
  EXPECT_FALSE(*s_->AddName("shop.example.com", web_, false, 2));  // again: fine, nothing new
  auto taken = s_->AddName("shop.example.com", other_, false, 3);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), Status::Code::kConflict);
  // Another tenant learns no more than that the name is taken.
  EXPECT_NE(taken.status().message().find("belongs to another tenant's app"), std::string::npos);
  EXPECT_EQ(taken.status().message().find("acme"), std::string::npos) << taken.status().message();
  // The same tenant is told which of its apps has it.
  auto own = s_->AddName("shop.example.com", api_, false, 3);
  ASSERT_FALSE(own.ok());
  EXPECT_NE(own.status().message().find("another app (acme/prod/web)"), std::string::npos) << own.status().message();
  EXPECT_EQ(s_->RemoveName("shop.example.com", other_).code(), Status::Code::kNotFound);
  EXPECT_TRUE(s_->RemoveName("shop.example.com", web_).ok());
  EXPECT_TRUE(*s_->AddName("shop.example.com", other_, false, 4));
}

TEST_F(DomainStoreTest, TheDefaultNameGoesOnlyWithTheApp) {
  ASSERT_TRUE(s_->AddName("web.prod.acme.rivendell.test", web_, true, 1).ok());
  ASSERT_TRUE(s_->AddName("shop.example.com", web_, false, 1).ok());
  ASSERT_TRUE(s_->AddName("api.example.com", api_, false, 1).ok());
  EXPECT_EQ(s_->RemoveName("web.prod.acme.rivendell.test", web_).code(), Status::Code::kInvalid);
  auto gone = s_->RemoveApp(web_);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->size(), 2u);
  auto left = s_->List();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().name, "api.example.com");
  EXPECT_EQ(left->front().env, "acme/prod");
}

TEST_F(DomainStoreTest, ADefaultNameOfAnEarlierPodDomainIsDropped) {
  ASSERT_TRUE(s_->AddName("web.prod.acme.old.test", web_, true, 1).ok());
  ASSERT_TRUE(s_->AddName("shop.example.com", web_, false, 1).ok());
  EXPECT_EQ(*s_->DropOtherDefaults(web_, "web.prod.acme.new.test"), 1);
  EXPECT_EQ(*s_->DropOtherDefaults(web_, "web.prod.acme.new.test"), 0);
  auto left = s_->List("acme/prod/web");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().name, "shop.example.com");
}

TEST_F(DomainStoreTest, KeysAreStoredEncryptedAndSurviveAReopen) {
  auto ca = std::move(*PodCa::Generate("ca", 1796400000000));
  auto c = ca->Issue("shop.example.com", 1796400000000);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(s_->AddName("shop.example.com", web_, false, 1).ok());
  ASSERT_TRUE(s_->PutCert("shop.example.com", c->cert_pem, c->key_pem, c->not_after_ms, false, c->issuer, 2).ok());
  Reopen();
  auto key = s_->Key("shop.example.com");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, c->key_pem);
  auto rows = s_->ForEnv("acme/prod");
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().cert_pem, c->cert_pem);
  EXPECT_EQ(rows->front().not_after_ms, c->not_after_ms);
  // The key's PEM body is nowhere in the database files (incl. the WAL).
  s_.reset();
  std::string body = c->key_pem.substr(c->key_pem.find('\n') + 1, 40);
  EXPECT_EQ(DbBytes().find(body), std::string::npos);
  EXPECT_EQ(DbBytes().find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST_F(DomainStoreTest, AKeyDoesNotDecryptUnderAnotherKeyOrName) {
  ASSERT_TRUE(s_->AddName("a.example.com", web_, false, 1).ok());
  ASSERT_TRUE(s_->AddName("b.example.com", web_, false, 1).ok());
  ASSERT_TRUE(s_->PutCert("a.example.com", "CERT", "KEY-A", 5, true, "x", 2).ok());
  EXPECT_EQ(s_->Key("b.example.com").status().code(), Status::Code::kNotFound);  // none yet
  // Copy a's ciphertext onto b: the name in the plaintext refuses it.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE domains SET key_box = (SELECT key_box FROM domains WHERE name='a.example.com') "
                           "WHERE name='b.example.com'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_EQ(s_->Key("b.example.com").status().code(), Status::Code::kDenied);
  key_ = std::make_unique<crypto::SecretBoxKey>(crypto::SecretBoxKey::Generate());
  Reopen();
  EXPECT_EQ(s_->Key("a.example.com").status().code(), Status::Code::kDenied);
}

TEST_F(DomainStoreTest, ACertificateNeedsAName) {
  EXPECT_EQ(s_->PutCert("nobody.example.com", "C", "K", 1, true, "x", 1).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace rv::sauron
