#include "gitrecv/deploy_runner.h"

#include <gtest/gtest.h>

namespace rv::gitrecv {
namespace {

DeployRequest Good() {
  return {"acme/prod/web", "0123456789abcdef0123456789abcdef01234567", "/tmp/gitrecv-push.AbC123/src", "alice"};
}

}  // namespace

TEST(DeployRunner, TheOnPushCommandIsTheContractsInvocation) {
  GitrecvConfig c;
  c.on_push = {"/usr/lib/rv/rv-deploy", "--pod", "/srv/pod.json"};
  std::vector<std::string> want = {"/usr/lib/rv/rv-deploy", "--pod", "/srv/pod.json", "--app", "acme/prod/web",
                                   "--commit", "0123456789abcdef0123456789abcdef01234567", "--source",
                                   "/tmp/gitrecv-push.AbC123/src", "--user", "alice"};
  EXPECT_EQ(OnPushArgv(c, Good()), want);
}

TEST(DeployRunner, AcceptsAnExportedPushAndRoundTripsIt) {
  EXPECT_TRUE(ValidateDeployRequest(Good()).ok());
  auto back = DecodeDeployRequest(EncodeDeployRequest(Good()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->source, Good().source);
  EXPECT_FALSE(DecodeDeployRequest("{\"app\": 1}").ok());
  EXPECT_FALSE(DecodeDeployRequest("not json").ok());
}

TEST(DeployRunner, RefusesRequestsThatCouldRunSomethingElseAsRoot) {
  auto with = [](auto f) {
    DeployRequest r = Good();
    f(r);
    return ValidateDeployRequest(r).ok();
  };
  EXPECT_FALSE(with([](DeployRequest& r) { r.app = "../../etc/x"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.commit = "--upload-pack=sh"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.commit = "0123456789ABCDEF0123456789abcdef01234567"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.user = "--help"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/etc"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/tmp/gitrecv-push.AbC123/src/../../etc"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/tmp/gitrecv-push.../src"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/tmp/gitrecv-push.AbC123/sr"; }));
}

}  // namespace rv::gitrecv
