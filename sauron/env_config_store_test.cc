// EnvConfigStore and its delivery: round trip, ciphertext at rest, sealing to
// the claiming host only, admin-only API.
#include "sauron/env_config_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/msg/envelope.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "sauron/api_server.h"
#include "sauron/api_test_base.h"

namespace rv::sauron {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const fs::path& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && Slurp(e.path()).find(needle) != std::string::npos) hits.push_back(e.path().string());
  }
  return hits;
}

crypto::BoxKeyPair BoxKeys(const transport::CurveKeypair& kp) {
  return crypto::BoxKeyPair{*crypto::DecodeZ85Key(kp.public_key), *crypto::DecodeZ85Key(kp.secret_key)};
}

class EnvConfigTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    auto key = crypto::SecretBoxKey::LoadOrCreate((dir_ / "secrets.key").string());
    ASSERT_TRUE(key.ok()) << key.status().message();
    auto ec = EnvConfigStore::Open(db_, *key);
    ASSERT_TRUE(ec.ok()) << ec.status().message();
    config_ = std::move(*ec);
  }
  void TearDown() override {
    api_.reset();
    config_.reset();
    ApiTestBase::TearDown();
  }
  void MakeApi() {
    deps_.env_config = config_.get();
    StartApi();
  }
  std::string Enroll(const std::string& id, transport::CurveKeypair* kp) {
    *kp = EnrollHost(id);
    return id;
  }

  std::unique_ptr<EnvConfigStore> config_;
};

TEST_F(EnvConfigTest, RoundTripListMasksSecrets) {
  ASSERT_TRUE(config_->Set("acme/prod", {{"DATABASE_URL", "postgres://db/x"}, {"MODE", "fast"}}, true, 5).ok());
  ASSERT_TRUE(config_->Set("acme/prod", {{"MODE", "slow"}, {"LOG_LEVEL", "debug"}}, false, 6).ok());
  ASSERT_TRUE(config_->Set("acme/staging", {{"MODE", "other"}}, false, 7).ok());
  auto list = config_->List("acme/prod");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "DATABASE_URL");
  EXPECT_TRUE((*list)[0].secret);
  EXPECT_EQ((*list)[0].value, "");  // never shown
  EXPECT_EQ((*list)[1].name, "LOG_LEVEL");
  EXPECT_EQ((*list)[1].value, "debug");
  EXPECT_EQ((*list)[2].name, "MODE");
  EXPECT_FALSE((*list)[2].secret);  // overwritten as plain
  EXPECT_EQ((*list)[2].value, "slow");
  auto all = config_->Resolve("acme/prod");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->vars().at("DATABASE_URL"), "postgres://db/x");
  EXPECT_EQ(all->vars().at("MODE"), "slow");

  ASSERT_TRUE(config_->Unset("acme/prod", {"MODE", "NOT_THERE"}).ok());
  EXPECT_EQ(config_->List("acme/prod")->size(), 2u);
  ASSERT_TRUE(config_->Unset("acme/prod", {"DATABASE_URL", "LOG_LEVEL"}).ok());
  EXPECT_FALSE(config_->HasVars("acme/prod"));
  EXPECT_TRUE(config_->HasVars("acme/staging"));

  // Survives a reopen with the same key file.
  config_.reset();
  auto key = crypto::SecretBoxKey::LoadOrCreate((dir_ / "secrets.key").string());
  config_ = std::move(*EnvConfigStore::Open(db_, *key));
  EXPECT_TRUE(config_->HasVars("acme/staging"));
  EXPECT_EQ(config_->List("acme/staging")->at(0).value, "other");
}

TEST_F(EnvConfigTest, RefusesBadInputWithoutEchoingValues) {
  EXPECT_FALSE(config_->Set("", {{"A", "1"}}, false, 1).ok());
  EXPECT_FALSE(config_->Set("e v", {{"A", "1"}}, false, 1).ok());
  EXPECT_FALSE(config_->Set("env", {}, false, 1).ok());
  EXPECT_FALSE(config_->Set("env", {{"1A", "x"}}, false, 1).ok());
  EXPECT_FALSE(config_->Set("env", {{"A-B", "x"}}, false, 1).ok());
  EXPECT_FALSE(config_->Set("env", {{"RV_JOB_ID", "x"}}, false, 1).ok());
  Status big = config_->Set("env", {{"OK", "fine"}, {"BIG", std::string(40000, 'q') + "needle-value"}}, true, 1);
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(big.message().find("needle-value"), std::string::npos);
  EXPECT_FALSE(config_->HasVars("env"));  // all or nothing: OK was not set either
  EXPECT_FALSE(config_->Set("env", {{"NUL", std::string("a\0b", 3)}}, true, 1).ok());
}

// A value becomes an environment variable in a container's JSON runtime spec,
// which holds only UTF-8: before this check the strider threw on it, uncaught.
TEST_F(EnvConfigTest, RefusesAValueThatIsNotUtf8AndSaysWhichWithoutTheValue) {
  Status s = config_->Set("env", {{"LATIN1", "caf\xe9-needle"}}, true, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("LATIN1 is not UTF-8"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("needle"), std::string::npos);
  EXPECT_FALSE(config_->HasVars("env"));
  EXPECT_TRUE(config_->Set("env", {{"UTF8", "caf\xc3\xa9 \xf0\x9f\x9a\x80"}}, true, 1).ok());
}

TEST_F(EnvConfigTest, AtRestOnlyCiphertextAndKeyFileIs0600) {
  const std::string marker = "s3cr3t-marker-" + std::to_string(getpid());
  ASSERT_TRUE(config_->Set("acme/prod", {{"API_TOKEN", marker}}, true, 1).ok());
  ASSERT_TRUE(config_->Set("acme/prod", {{"PLAIN_TOO", marker + "-plain"}}, false, 1).ok());
  // The db, its WAL and shm (as they are now, before any checkpoint) ...
  EXPECT_TRUE(FilesContaining(dir_, marker).empty());
  // ... and after a checkpoint and close.
  config_.reset();
  store_.reset();
  EXPECT_TRUE(FilesContaining(dir_, marker).empty());
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "secrets.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);

  // Another key cannot read them.
  auto other = EnvConfigStore::Open(db_, crypto::SecretBoxKey::Generate());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Resolve("acme/prod").status().code(), Status::Code::kDenied);
  EXPECT_EQ((*other)->List("acme/prod").status().code(), Status::Code::kDenied);
}

TEST_F(EnvConfigTest, RowMovedToAnotherNameDoesNotDecrypt) {
  ASSERT_TRUE(config_->Set("prod", {{"A", "alpha"}, {"B", "beta"}}, true, 1).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE env_config SET value = (SELECT value FROM env_config WHERE name='A') WHERE name='B'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(config_->Resolve("prod").status().code(), Status::Code::kDenied);
}

TEST_F(EnvConfigTest, SealedToTheRightHostOnly) {
  transport::CurveKeypair h1, h2;
  Enroll("h1", &h1);
  Enroll("h2", &h2);
  ASSERT_TRUE(config_->Set("prod", {{"TOKEN", "abc"}}, true, 1).ok());
  auto sealed = config_->SealFor("prod", h1.public_key);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("abc"), std::string::npos);
  auto opened = crypto::OpenSealedEnv(BoxKeys(h1), *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->vars().at("TOKEN"), "abc");
  EXPECT_EQ(crypto::OpenSealedEnv(BoxKeys(h2), *sealed).status().code(), Status::Code::kDenied);
  EXPECT_EQ(*config_->SealFor("no-vars", h1.public_key), "");
}

TEST_F(EnvConfigTest, ApiIsAdminOnlyAndListsNamesNotSecrets) {
  MakeApi();
  transport::CurveKeypair h1;
  Enroll("h1", &h1);
  msg::ConfigSet set{"prod", {{"TOKEN", "tok-123"}}, true};
  constexpr int kDenied = static_cast<int>(Status::Code::kDenied);
  EXPECT_EQ(Call("h1", set).code, kDenied);
  EXPECT_EQ(Call("elrond", set).code, kDenied);
  EXPECT_EQ(Call("", set).code, kDenied);
  EXPECT_EQ(Call("h1", msg::ConfigListRequest{"prod"}).code, kDenied);
  EXPECT_EQ(Call("elrond", msg::ConfigUnset{"prod", {"TOKEN"}}).code, kDenied);
  EXPECT_FALSE(config_->HasVars("prod"));

  ASSERT_EQ(Call("admin", set).code, 0);
  ASSERT_EQ(Call("admin", msg::ConfigSet{"prod", {{"REGION", "eu"}}, false}).code, 0);
  auto r = Call("admin", msg::ConfigListRequest{"prod"});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.payload.find("tok-123"), std::string::npos);
  auto listing = Payload<msg::ConfigListing>(r);
  ASSERT_EQ(listing.vars.size(), 2u);
  EXPECT_EQ(listing.vars[0].name, "REGION");
  EXPECT_EQ(listing.vars[0].value, "eu");
  EXPECT_EQ(listing.vars[1].name, "TOKEN");
  EXPECT_TRUE(listing.vars[1].secret);
  EXPECT_EQ(listing.vars[1].value, "");
  // The event log names the vars, never the values.
  auto events = store_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  bool named = false;
  for (const auto& e : *events) {
    EXPECT_EQ(e.detail.find("tok-123"), std::string::npos);
    if (e.kind == "config.set" && e.detail.find("TOKEN") != std::string::npos) named = true;
  }
  EXPECT_TRUE(named);
  ASSERT_EQ(Call("admin", msg::ConfigUnset{"prod", {"TOKEN"}}).code, 0);
  EXPECT_EQ(Payload<msg::ConfigListing>(Call("admin", msg::ConfigListRequest{"prod"})).vars.size(), 1u);
  EXPECT_NE(Call("admin", msg::ConfigSet{"prod", {{"bad name", "x"}}, false}).code, 0);
}

TEST_F(EnvConfigTest, ClaimReplyCarriesEnvSealedToTheClaimingHost) {
  MakeApi();
  transport::CurveKeypair h1, h2;
  Enroll("h1", &h1);
  Enroll("h2", &h2);
  msg::HostHello hello;
  hello.host_id = "h1";
  ASSERT_EQ(Call("h1", hello).code, 0);
  ASSERT_EQ(Call("admin", msg::ConfigSet{"prod", {{"TOKEN", "tok-xyz"}}, true}).code, 0);
  msg::JobSpec with, without;
  with.id = "web-1";
  with.env = "prod";
  without.id = "batch-1";
  without.env = "dev";
  ASSERT_TRUE(store_->SubmitJobs({with, without}, 1).ok());
  auto aw = store_->Award({{"web-1", 0, "h1"}, {"batch-1", 0, "h1"}}, 2);
  ASSERT_TRUE(aw[0].ok && aw[1].ok);

  // Another host claiming h1's job gets nothing sealed (and no job).
  msg::Outcomes stolen = Payload<msg::Outcomes>(Call("h2", msg::ClaimRequest{"h2", {{"web-1", 1}}}));
  ASSERT_EQ(stolen.results.size(), 1u);
  EXPECT_FALSE(stolen.results[0].ok);
  EXPECT_EQ(stolen.results[0].sealed_env, "");

  auto r = Call("h1", msg::ClaimRequest{"h1", {{"web-1", 1}, {"batch-1", 1}}});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.payload.find("tok-xyz"), std::string::npos);
  auto outs = Payload<msg::Outcomes>(r);
  ASSERT_EQ(outs.results.size(), 2u);
  for (const auto& o : outs.results) {
    ASSERT_TRUE(o.ok) << o.reason;
    if (o.job_id == "batch-1") {
      EXPECT_EQ(o.sealed_env, "");
      continue;
    }
    auto env = crypto::OpenSealedEnv(BoxKeys(h1), o.sealed_env);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(env->vars().at("TOKEN"), "tok-xyz");
    EXPECT_FALSE(crypto::OpenSealedEnv(BoxKeys(h2), o.sealed_env).ok());
  }

  // After a restart, the welcome's keep list brings the sealed env again.
  hello.jobs.clear();
  auto welcome = Payload<msg::HostWelcome>(Call("h1", hello));
  ASSERT_EQ(welcome.keep.size(), 2u);
  ASSERT_EQ(welcome.sealed_envs.count("web-1"), 1u);
  EXPECT_EQ(welcome.sealed_envs.count("batch-1"), 0u);
  EXPECT_EQ(crypto::OpenSealedEnv(BoxKeys(h1), welcome.sealed_envs["web-1"])->vars().at("TOKEN"), "tok-xyz");
}

TEST_F(EnvConfigTest, ClaimRefusedWhenTheEnvCannotBeSealed) {
  ASSERT_TRUE(config_->Set("prod", {{"TOKEN", "t"}}, true, 1).ok());
  // Reopen under the wrong key: the rows no longer decrypt.
  config_ = std::move(*EnvConfigStore::Open(db_, crypto::SecretBoxKey::Generate()));
  MakeApi();
  transport::CurveKeypair h1;
  Enroll("h1", &h1);
  msg::HostHello hello;
  hello.host_id = "h1";
  ASSERT_EQ(Call("h1", hello).code, 0);
  msg::JobSpec j;
  j.id = "web-1";
  j.env = "prod";
  ASSERT_TRUE(store_->SubmitJobs({j}, 1).ok());
  ASSERT_TRUE(store_->Award({{"web-1", 0, "h1"}}, 2)[0].ok);
  auto outs = Payload<msg::Outcomes>(Call("h1", msg::ClaimRequest{"h1", {{"web-1", 1}}}));
  ASSERT_EQ(outs.results.size(), 1u);
  EXPECT_FALSE(outs.results[0].ok);
  EXPECT_NE(outs.results[0].reason.find("config unavailable"), std::string::npos);
  EXPECT_EQ(store_->GetJob("web-1")->state, "awarded");  // never placed
  EXPECT_EQ(counters_.Get("config.seal_failed"), 1);
}

}  // namespace
}  // namespace rv::sauron
