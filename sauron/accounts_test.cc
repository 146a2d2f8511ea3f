// Accounts: users, keys, apps, access; the git authorization rule; the API's
// roles and event log.
#include "sauron/accounts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/msg/envelope.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "sauron/api_server.h"
#include "sauron/api_test_base.h"

namespace rv::sauron {
namespace {

namespace fs = std::filesystem;

const char* kKeyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmacDSYqGkIxI3kR2wd/G0AtAZuAn8A/JI+eazChyLH alice@laptop";
const char* kBlobA = "AAAAC3NzaC1lZDI1NTE5AAAAIBmacDSYqGkIxI3kR2wd/G0AtAZuAn8A/JI+eazChyLH";
const char* kFpA = "SHA256:V+qY4DGKt50ubQxjlb5WUp64cURs0f/mWpH3GMDhcFs";
const char* kKeyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAsQD1Mlp0cNBN8pDr+TxejkT0Qrjcbn1oWFd41wz3U bob";

class AccountsTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    auto a = Accounts::Open(db_);
    ASSERT_TRUE(a.ok()) << a.status().message();
    acc_ = std::move(*a);
    deps_.accounts = acc_.get();
    StartApi();
  }
  void TearDown() override {
    api_.reset();
    acc_.reset();
    ApiTestBase::TearDown();
  }

  std::unique_ptr<Accounts> acc_;
};

constexpr int kDenied = static_cast<int>(Status::Code::kDenied);
constexpr int kConflict = static_cast<int>(Status::Code::kConflict);
constexpr int kNotFound = static_cast<int>(Status::Code::kNotFound);
constexpr int kInvalid = static_cast<int>(Status::Code::kInvalid);

}  // namespace

TEST(GitAccessRule, RefusesWithoutAGrantWhetherOrNotTheAppExists) {
  names::AppRef app{"acme", "prod", "web"};
  msg::AppInfo info{"acme", "prod", "web", "main", 1};
  auto a = DecideGitAccess("bob", app, true, std::nullopt, info, false);
  auto b = DecideGitAccess("bob", app, true, std::nullopt, std::nullopt, false);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, b.reason);  // nothing tells another tenant the app exists
  EXPECT_NE(a.reason.find("no access to acme/prod/web"), std::string::npos);
}

TEST(GitAccessRule, ReadOnlyMayCloneButNeitherPushNorRunCommands) {
  names::AppRef app{"acme", "prod", "web"};
  msg::AppInfo info{"acme", "prod", "web", "master", 1};
  auto clone = DecideGitAccess("ann", app, true, false, info, false);
  EXPECT_TRUE(clone.allowed);
  EXPECT_EQ(clone.deploy_branch, "master");
  auto push = DecideGitAccess("ann", app, true, false, info, true);
  EXPECT_FALSE(push.allowed);
  EXPECT_NE(push.reason.find("not push"), std::string::npos);
  EXPECT_NE(push.reason.find("run commands"), std::string::npos);  // the console asks for write too
  EXPECT_TRUE(DecideGitAccess("ann", app, true, true, info, true).allowed);
}

TEST(GitAccessRule, AGrantedUserLearnsTheAppIsMissingAndAnUnknownUserIsRefused) {
  names::AppRef app{"acme", "prod", "api"};
  auto missing = DecideGitAccess("ann", app, true, true, std::nullopt, true);
  EXPECT_FALSE(missing.allowed);
  EXPECT_NE(missing.reason.find("does not exist"), std::string::npos);
  EXPECT_FALSE(DecideGitAccess("ghost", app, false, true, msg::AppInfo{}, true).allowed);
}

TEST_F(AccountsTest, UsersKeysAppsAndGrantsRoundTrip) {
  ASSERT_TRUE(acc_->AddUser("alice", 1).ok());
  EXPECT_EQ(acc_->AddUser("alice", 2).code(), Status::Code::kConflict);
  auto k = acc_->AddKey("alice", kKeyA, 3);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->fingerprint, kFpA);
  EXPECT_EQ(k->comment, "alice@laptop");
  auto owner = acc_->LookupKey("ssh-ed25519", kBlobA);
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->user, "alice");
  ASSERT_TRUE(acc_->CreateApp("acme/prod", "web", "", 4).ok());
  EXPECT_EQ(acc_->CreateApp("acme/prod", "web", "main", 5).status().code(), Status::Code::kConflict);
  ASSERT_TRUE(acc_->Grant("alice", "acme/prod", true, 6).ok());
  auto users = acc_->Users();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ(users->at(0).keys, 1);
  ASSERT_EQ(users->at(0).access.size(), 1u);
  EXPECT_TRUE(users->at(0).access[0].write);
  auto ok = acc_->Authorize("alice", "acme/prod/web", true);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->allowed);
  EXPECT_EQ(ok->deploy_branch, "main");
  ASSERT_TRUE(acc_->Revoke("alice", "acme/prod").ok());
  EXPECT_FALSE(acc_->Authorize("alice", "acme/prod/web", false)->allowed);
  ASSERT_TRUE(acc_->RemoveKey("alice", kFpA).ok());
  EXPECT_EQ(acc_->LookupKey("ssh-ed25519", kBlobA).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(acc_->DestroyApp("acme/prod/web").ok());
  EXPECT_EQ(acc_->DestroyApp("acme/prod/web").code(), Status::Code::kNotFound);
}

TEST_F(AccountsTest, AKeyBelongsToOneUser) {
  ASSERT_TRUE(acc_->AddUser("alice", 1).ok());
  ASSERT_TRUE(acc_->AddUser("bob", 1).ok());
  ASSERT_TRUE(acc_->AddKey("alice", kKeyA, 2).ok());
  auto again = acc_->AddKey("bob", kKeyA, 3);
  EXPECT_EQ(again.status().code(), Status::Code::kConflict);
  EXPECT_TRUE(acc_->AddKey("bob", kKeyB, 3).ok());
  EXPECT_EQ(acc_->LookupKey("ssh-ed25519", kBlobA)->user, "alice");
  // bob cannot remove alice's key by naming its fingerprint
  EXPECT_EQ(acc_->RemoveKey("bob", kFpA).code(), Status::Code::kNotFound);
}

TEST_F(AccountsTest, RefusesHostileNamesAndLoneEnvironmentsForApps) {
  EXPECT_EQ(acc_->AddUser("../root", 1).code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->AddUser("Alice", 1).code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->CreateApp("../../x", "web", "", 1).status().code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->CreateApp("prod", "web", "", 1).status().code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->CreateApp("acme/prod", "web.git", "", 1).status().code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->CreateApp("acme/prod", "web", "develop", 1).status().code(), Status::Code::kInvalid);
  ASSERT_TRUE(acc_->AddUser("alice", 1).ok());
  EXPECT_EQ(acc_->Grant("alice", "acme/../x", true, 1).code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->Grant("nobody", "acme/prod", true, 1).code(), Status::Code::kNotFound);
  EXPECT_EQ(acc_->AddKey("alice", "command=\"sh\" ssh-ed25519 AAAA", 1).status().code(), Status::Code::kInvalid);
  EXPECT_EQ(acc_->Authorize("alice", "acme/prod/../../etc", false).status().code(), Status::Code::kInvalid);
}

TEST_F(AccountsTest, ApiRecordsEveryChangeAsAnEventWithoutKeyBlobs) {
  ASSERT_EQ(Call("admin", msg::UserAdd{"alice"}).code, 0);
  auto kr = Call("admin", msg::KeyAdd{"alice", kKeyA});
  ASSERT_EQ(kr.code, 0) << kr.error;
  EXPECT_EQ(Payload<msg::KeyInfo>(kr).fingerprint, kFpA);
  ASSERT_EQ(Call("admin", msg::AppCreate{"acme/prod", "web", "main"}).code, 0);
  ASSERT_EQ(Call("admin", msg::AccessGrant{"alice", "acme/prod", false}).code, 0);
  ASSERT_EQ(Call("admin", msg::AccessRevoke{"alice", "acme/prod"}).code, 0);
  ASSERT_EQ(Call("admin", msg::KeyRemove{"alice", kFpA}).code, 0);
  ASSERT_EQ(Call("admin", msg::AppDestroy{"acme/prod/web"}).code, 0);
  // Failed changes leave no event.
  EXPECT_EQ(Call("admin", msg::UserAdd{"alice"}).code, kConflict);
  EXPECT_EQ(Call("admin", msg::AppDestroy{"acme/prod/web"}).code, kNotFound);
  EXPECT_EQ(Call("admin", msg::UserAdd{"../x"}).code, kInvalid);
  std::vector<std::string> want = {"account.user_add", "account.key_add", "app.create", "access.grant",
                                   "access.revoke",    "account.key_remove", "app.destroy"};
  EXPECT_EQ(EventKinds(), want);
  auto events = store_->ListEvents(0, 1000);
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) EXPECT_EQ(e.detail.find(kBlobA), std::string::npos);
}

TEST_F(AccountsTest, AdminRequestsAreForOperatorsAndGitRequestsForTheGitServer) {
  EXPECT_EQ(Call("h1", msg::UserAdd{"mallory"}).code, kDenied);
  EXPECT_EQ(Call("elrond", msg::AccessGrant{"mallory", "acme/prod", true}).code, kDenied);
  EXPECT_EQ(Call("gitrecv", msg::UserAdd{"mallory"}).code, kDenied);
  EXPECT_EQ(Call("h1", msg::KeyLookup{"ssh-ed25519", kBlobA}).code, kDenied);
  EXPECT_EQ(Call("elrond", msg::GitAuthorize{"alice", "acme/prod/web", true}).code, kDenied);
  EXPECT_EQ(Call("gitrecv", msg::KeyLookup{"ssh-ed25519", kBlobA}).code, kNotFound);
  ASSERT_EQ(Call("admin", msg::UserAdd{"alice"}).code, 0);
  ASSERT_EQ(Call("admin", msg::KeyAdd{"alice", kKeyA}).code, 0);
  ASSERT_EQ(Call("admin", msg::AppCreate{"acme/prod", "web", "master"}).code, 0);
  ASSERT_EQ(Call("admin", msg::AccessGrant{"alice", "acme/prod", true}).code, 0);
  auto owner = Call("gitrecv", msg::KeyLookup{"ssh-ed25519", kBlobA});
  ASSERT_EQ(owner.code, 0);
  EXPECT_EQ(Payload<msg::KeyOwner>(owner).user, "alice");
  auto access = Call("gitrecv", msg::GitAuthorize{"alice", "acme/prod/web", true});
  ASSERT_EQ(access.code, 0);
  EXPECT_TRUE(Payload<msg::GitAccess>(access).allowed);
  EXPECT_EQ(Payload<msg::GitAccess>(access).deploy_branch, "master");
  auto other = Call("admin", msg::GitAuthorize{"alice", "globex/prod/web", false});
  ASSERT_EQ(other.code, 0);
  EXPECT_FALSE(Payload<msg::GitAccess>(other).allowed);
}

}  // namespace rv::sauron
