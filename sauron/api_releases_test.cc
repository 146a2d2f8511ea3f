// The releases requests through ApiServer::Handle: who may send them, and
// that every change lands in the event log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "sauron/api_server.h"
#include "sauron/api_test_base.h"
#include "common/build_job.h"
#include "common/msg/releases.h"
#include "sauron/api_requests.h"
#include "sauron/releases.h"

namespace rv::sauron {
namespace {

class ReleasesApiTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    auto r = ReleaseStore::Open(db_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    releases_ = std::move(*r);
    deps_.releases = releases_.get();
    StartApi();
    EnrollHost("h1");
  }
  void TearDown() override {
    api_.reset();
    releases_.reset();
    ApiTestBase::TearDown();
  }

  std::unique_ptr<ReleaseStore> releases_;
};

TEST_F(ReleasesApiTest, OnlyTheAdminMayRecordBuildsAndReleases) {
  msg::ReleaseCreate c;
  c.app = "acme/prod/web";
  c.image = "x@sha256:1";
  EXPECT_EQ(Call("h1", c).code, static_cast<int>(Status::Code::kDenied));
  EXPECT_EQ(Call("elrond", msg::BuildStart{"acme/prod/web", "abc", "eve"}).code, static_cast<int>(Status::Code::kDenied));
  EXPECT_TRUE(Events("release.").empty());
  EXPECT_EQ(Call("admin", c).code, 0);
}

TEST_F(ReleasesApiTest, EveryChangeIsAnEvent) {
  ASSERT_EQ(Call("admin", msg::BuildStart{"acme/prod/web", "abc", "alice"}).code, 0);
  ASSERT_EQ(Call("admin", msg::BuildAppend{"acme/prod/web", 1, "secret-free output\n", ""}).code, 0);
  ASSERT_EQ(Call("admin", msg::BuildFinish{"acme/prod/web", 1, true, "x@sha256:1", "sha256:1", ""}).code, 0);
  msg::ReleaseCreate c;
  c.app = "acme/prod/web";
  c.image = "x@sha256:1";
  c.process_types = {{"web", "httpd"}};
  ASSERT_EQ(Call("admin", c).code, 0);
  ASSERT_EQ(Call("admin", msg::ReleaseState{"acme/prod/web", 1, "deployed", ""}).code, 0);
  ASSERT_EQ(Call("admin", msg::FormationSet{"acme/prod/web", {{"web", 3}}}).code, 0);
  OnEnvConfigChanged(*releases_, *store_, "acme/prod", "set A", 5);
  auto ev = Events("");
  std::string all;
  for (const auto& e : ev) all += e + "\n";
  for (const char* want : {"build.started acme/prod/web #1", "build.finished acme/prod/web #1 succeeded",
                           "release.created acme/prod/web v1", "release.deployed acme/prod/web v1",
                           "formation.set acme/prod/web web=3", "release.created acme/prod/web v2"}) {
    EXPECT_NE(all.find(want), std::string::npos) << want << " not in\n" << all;
  }
  EXPECT_EQ(all.find("secret-free output"), std::string::npos) << "build output must not be in events";
}

TEST_F(ReleasesApiTest, BadInputIsAnErrorAndChangesNothing) {
  EXPECT_EQ(Call("admin", msg::BuildStart{"../../x", "abc", "alice"}).code, static_cast<int>(Status::Code::kInvalid));
  EXPECT_EQ(Call("admin", msg::BuildAppend{"acme/prod/web", 7, "x", ""}).code, static_cast<int>(Status::Code::kNotFound));
  EXPECT_EQ(Call("admin", msg::ReleaseState{"acme/prod/web", 1, "deployed", ""}).code,
            static_cast<int>(Status::Code::kNotFound));
  EXPECT_TRUE(Events("build.").empty());
  EXPECT_TRUE(Events("release.").empty());
}

TEST_F(ReleasesApiTest, AHostWritesOnlyTheOutputOfTheBuildJobPlacedOnIt) {
  msg::BuildRecord b;
  {
    auto r = Call("admin", msg::BuildStart{"acme/prod/web", "abc", "alice"});
    ASSERT_EQ(r.code, 0) << r.error;
  }
  build_job::BuildJob bj;
  bj.app = "acme/prod/web";
  bj.number = 1;
  bj.source = "sources/acme/prod/web@sha256:" + std::string(64, 'b');
  msg::JobSpec spec = build_job::MakeBuildJobSpec(bj, "n1");
  ASSERT_TRUE(store_->SubmitJobs({spec}, 1).ok());
  msg::BuildAppend a{"acme/prod/web", 1, "from h1\n", spec.id};
  // Not placed yet: refused.
  EXPECT_EQ(Call("h1", a).code, static_cast<int>(Status::Code::kDenied));
  msg::HostHello hello;
  hello.host_id = "h1";
  hello.capacity = hello.free = {4096, 10000, 4000};
  ASSERT_TRUE(store_->HostUp(hello, 1).ok());
  auto aw = store_->Award({{spec.id, 0, "h1"}}, 2);
  ASSERT_TRUE(aw[0].ok) << aw[0].reason;
  auto cl = store_->Claim("h1", {{spec.id, 1}}, 3);
  ASSERT_TRUE(cl[0].ok) << cl[0].reason;
  EXPECT_EQ(Call("h1", a).code, 0);
  // Another build of the app, another app, an unknown job: refused.
  EXPECT_EQ(Call("h1", msg::BuildAppend{"acme/prod/web", 2, "x", spec.id}).code, static_cast<int>(Status::Code::kDenied));
  EXPECT_EQ(Call("h1", msg::BuildAppend{"acme/prod/api", 1, "x", spec.id}).code, static_cast<int>(Status::Code::kDenied));
  EXPECT_EQ(Call("h1", msg::BuildAppend{"acme/prod/web", 1, "x", "nope"}).code, static_cast<int>(Status::Code::kDenied));
  // A host may not finish or start builds.
  EXPECT_EQ(Call("h1", msg::BuildFinish{"acme/prod/web", 1, true, "x@sha256:1", "sha256:1", ""}).code,
            static_cast<int>(Status::Code::kDenied));
  auto out = Call("admin", msg::BuildOutputRequest{"acme/prod/web", 1, 0, 1 << 20});
  ASSERT_EQ(out.code, 0);
  auto env = msg::DecodeEnvelope(out.payload);
  ASSERT_TRUE(env.ok());
  msg::BuildOutput bo;
  ASSERT_TRUE(msg::DecodeBody(*env, &bo).ok());
  EXPECT_EQ(bo.text, "from h1\n");
}

}  // namespace
}  // namespace rv::sauron
