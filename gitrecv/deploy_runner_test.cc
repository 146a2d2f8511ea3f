#include "gitrecv/deploy_runner.h"

#include <gtest/gtest.h>

namespace rv::gitrecv {
namespace {

DeployRequest Good() {
  return {"acme/prod/web", "0123456789abcdef0123456789abcdef01234567", "/tmp/gitrecv-push.AbC123/src", "alice",
          "deploy", ""};
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

DeployRequest ConsoleRun() {
  DeployRequest r;
  r.kind = "run";
  r.app = "acme/prod/web";
  r.user = "alice";
  r.command = "rake db:migrate; echo done";
  return r;
}

TEST(DeployRunner, AConsoleCommandIsRvRunForTheUserWithTheLineAsOneArgument) {
  GitrecvConfig c;
  c.on_run = {"/usr/lib/rv/rv", "--pod", "/srv/pod.json", "run"};
  c.hook_timeout_s = 600;
  std::vector<std::string> want = {"/usr/lib/rv/rv", "--pod", "/srv/pod.json", "run", "--for", "alice",
                                   "--max-run-s", "600", "acme/prod/web", "--", "rake db:migrate; echo done"};
  EXPECT_EQ(OnRunArgv(c, ConsoleRun()), want);
  EXPECT_TRUE(ValidateDeployRequest(ConsoleRun()).ok());
  auto back = DecodeDeployRequest(EncodeDeployRequest(ConsoleRun()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, "run");
  EXPECT_EQ(back->command, ConsoleRun().command);
  auto old = DecodeDeployRequest(R"({"app": "a/b/c", "commit": "", "source": "", "user": "u"})");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->kind, "deploy") << "a request without a kind is a deploy";
}

TEST(DeployRunner, RefusesAConsoleCommandThatIsNotOnePrintableLineForAValidUserAndApp) {
  auto with = [](auto f) {
    DeployRequest r = ConsoleRun();
    f(r);
    return ValidateDeployRequest(r).ok();
  };
  EXPECT_FALSE(with([](DeployRequest& r) { r.command = ""; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.command = "ls\nrm -rf /"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.user = "--pod=/tmp/evil.json"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.app = "--help"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.source = "/tmp/gitrecv-push.AbC123/src"; }));
  EXPECT_FALSE(with([](DeployRequest& r) { r.kind = "shell"; }));
  DeployRequest deploy = Good();
  deploy.command = "ls";
  EXPECT_FALSE(ValidateDeployRequest(deploy).ok()) << "a deploy carries no command";
}

DeployRequest AppCmd(const std::string& words) {
  DeployRequest r;
  r.kind = "app";
  r.app = "acme/prod/web";
  r.user = "alice";
  r.command = words;
  return r;
}

TEST(DeployRunner, AnAppCommandIsOneFixedRvCommandOnTheApp) {
  GitrecvConfig c;
  c.on_app = {"/usr/lib/rv/rv", "--pod", "/srv/pod.json"};
  EXPECT_EQ(OnAppArgv(c, AppCmd("logs -f --router")),
            (std::vector<std::string>{"/usr/lib/rv/rv", "--pod", "/srv/pod.json", "logs", "acme/prod/web", "--safe", "-f", "--router"}));
  EXPECT_EQ(OnAppArgv(c, AppCmd("builds:output 4")),
            (std::vector<std::string>{"/usr/lib/rv/rv", "--pod", "/srv/pod.json", "builds-output", "acme/prod/web", "4"}));
  EXPECT_TRUE(ValidateDeployRequest(AppCmd("ps")).ok());
  auto back = DecodeDeployRequest(EncodeDeployRequest(AppCmd("logs -f")));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(OnAppArgv(c, *back), OnAppArgv(c, AppCmd("logs -f")));
}

TEST(DeployRunner, RefusesAnAppCommandWithAWordItDoesNotListOrAnotherApp) {
  for (const std::string bad : {"logs --data-dir /", "stop", "logs -f -f", "ps other/prod/web", "run ls", "",
                                 "logs\n-f"}) {
    EXPECT_FALSE(ValidateDeployRequest(AppCmd(bad)).ok()) << bad;
    EXPECT_TRUE(OnAppArgv(GitrecvConfig{}, AppCmd(bad)).empty()) << bad;
  }
  DeployRequest r = AppCmd("ps");
  r.user = "--pod=/tmp/evil.json";
  EXPECT_FALSE(ValidateDeployRequest(r).ok());
  r = AppCmd("ps");
  r.source = "/tmp/gitrecv-push.AbC123/src";
  EXPECT_FALSE(ValidateDeployRequest(r).ok());
}

}  // namespace rv::gitrecv
