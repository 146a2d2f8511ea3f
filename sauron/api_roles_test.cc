// Roles over the request table: a key of one role cannot call another role's
// requests, whichever module registered them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/transport/curve.h"
#include "sauron/api_requests.h"
#include "sauron/api_server.h"

namespace rv::sauron {
namespace {

constexpr int kDenied = static_cast<int>(Status::Code::kDenied);

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-roles-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::move(*Store::Open((dir_ / "db").string()));
    liveness_ = std::make_unique<Liveness>(LivenessOptions{});
    ApiDeps d;
    d.store = store_.get();
    d.liveness = liveness_.get();
    d.counters = &counters_;
    api_ = std::make_unique<ApiServer>(ctx_, transport::GenerateKeypair(), d);
    msg::EnrollHost e;
    e.host_id = "h1";
    e.public_key = transport::GenerateKeypair().public_key;
    ASSERT_TRUE(store_->EnrollHost(e).ok());
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A request of `type` whose body names `user` as its host (so a host's own
  // request passes the host_id check).
  msg::Reply Call(const std::string& user, const std::string& type) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(msg::kProtocolVersion);
    pk.pack(type);
    pk.pack(uint64_t{9});
    pk.pack_map(1);
    pk.pack(std::string("host_id"));
    pk.pack(user);
    std::string out = api_->Handle(user, "127.0.0.1", buf.data(), buf.size());
    msg::Reply r;
    auto env = msg::DecodeEnvelope(out);
    EXPECT_TRUE(env.ok());
    if (env.ok()) EXPECT_TRUE(msg::DecodeBody(*env, &r).ok());
    return r;
  }

  // Every row `role` may not call is refused before its handler runs; every
  // row it may call gets past the role check.
  void ExpectOnlyItsOwnRequests(const std::string& user, Role role) {
    ASSERT_EQ(api_->RoleOf(user), role);
    int denied = 0, allowed = 0;
    for (const auto* row : SauronRequests().rows()) {
      int64_t refused_before = counters_.Get("api.refused");
      msg::Reply r = Call(user, row->type);
      if (row->roles.Has(role)) {
        EXPECT_NE(r.code, kDenied) << RoleName(role) << " may call " << row->type << ": " << r.error;
        ++allowed;
      } else {
        EXPECT_EQ(r.code, kDenied) << RoleName(role) << " called " << row->type;
        EXPECT_NE(r.error.find("is for"), std::string::npos) << r.error;
        EXPECT_EQ(counters_.Get("api.refused"), refused_before + 1) << row->type;
        ++denied;
      }
    }
    EXPECT_GT(denied, 0) << "every role is refused something";
    allowed_ = allowed;
  }

  std::filesystem::path dir_;
  zmq::context_t ctx_;
  Counters counters_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Liveness> liveness_;
  std::unique_ptr<ApiServer> api_;
  int allowed_ = 0;
};

TEST_F(RolesTest, AnAdminKeyCallsOnlyAdminRequests) {
  ExpectOnlyItsOwnRequests("admin", Role::kAdmin);
  EXPECT_GT(allowed_, 0);
}

TEST_F(RolesTest, TheSchedulerKeyCallsOnlySchedulerRequests) {
  ExpectOnlyItsOwnRequests("elrond", Role::kScheduler);
  EXPECT_GT(allowed_, 0);
}

TEST_F(RolesTest, AHostKeyCallsOnlyHostRequests) {
  ExpectOnlyItsOwnRequests("h1", Role::kHost);
  EXPECT_GT(allowed_, 0);
}

// The service keys are neither hosts nor operators, whatever their id.
TEST_F(RolesTest, AGitServerKeyIsNotAHostNorAnOperator) { ExpectOnlyItsOwnRequests("gitrecv", Role::kGitrecv); }

TEST_F(RolesTest, ABuilderKeyIsNotAHostNorAnOperator) { ExpectOnlyItsOwnRequests("builder", Role::kBuilder); }

TEST_F(RolesTest, AnUnknownKeyIsRefusedEverything) {
  EXPECT_EQ(api_->RoleOf("h2"), Role::kNone);
  EXPECT_EQ(api_->RoleOf(""), Role::kNone);
  for (const auto* row : SauronRequests().rows()) {
    EXPECT_EQ(Call("h2", row->type).code, kDenied) << row->type;
    EXPECT_EQ(Call("", row->type).code, kDenied) << row->type;
  }
}

TEST_F(RolesTest, NoHostMayBeEnrolledUnderAPodKeysName) {
  for (const PodKey& k : PodKeys()) {
    msg::EnrollHost e;
    e.host_id = std::string(k.name);
    e.public_key = transport::GenerateKeypair().public_key;
    EXPECT_FALSE(store_->EnrollHost(e).ok()) << k.name;
    EXPECT_NE(api_->RoleOf(e.host_id), Role::kHost);
  }
}

TEST(RequestTableTest, EveryRowNamesItsRolesAndAHandler) {
  auto rows = SauronRequests().rows();
  EXPECT_GE(rows.size(), 21u);
  for (const auto* row : rows) {
    EXPECT_FALSE(row->roles.empty()) << row->type;
    EXPECT_TRUE(static_cast<bool>(row->handler)) << row->type;
    EXPECT_EQ(SauronRequests().Find(row->type), row);
  }
  EXPECT_EQ(SauronRequests().Find("no.such"), nullptr);
}

TEST(RequestTableTest, OnlyTheHotStoreWritesAreGroupable) {
  const auto& t = SauronRequests();
  for (const char* type : {"host.heartbeat", "job.claim", "job.report", "job.reports", "sched.award", "sched.revoke",
                           "sched.pending", "admin.submit", "admin.stop"}) {
    EXPECT_TRUE(t.groupable(type)) << type;
  }
  for (const char* type : {"host.hello", "host.overlay", "sched.snapshot", "admin.enroll", "admin.config_set",
                           "admin.list", "no.such"}) {
    EXPECT_FALSE(t.groupable(type)) << type;
  }
}

}  // namespace
}  // namespace rv::sauron
