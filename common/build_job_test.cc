#include "common/build_job.h"

#include <gtest/gtest.h>

namespace rv::build_job {
namespace {

const std::string kDigest(64, 'a');

BuildJob Sample() {
  BuildJob b;
  b.app = "acme/prod/web";
  b.number = 7;
  b.source = "sources/acme/prod/web@sha256:" + kDigest;
  b.stack = "stack/python:latest";
  b.timeout_s = 600;
  b.memory_mb = 512;
  b.cpu_millis = 1500;
  b.env["BUILDPACK_URL"] = "python";
  return b;
}

TEST(BuildJob, SpecRoundTripsAndAsksForABuildHost) {
  msg::JobSpec j = MakeBuildJobSpec(Sample(), "abc123");
  EXPECT_EQ(j.kind, "build");
  EXPECT_EQ(j.id, "acme.prod.web.build.b7.abc123");
  EXPECT_EQ(j.rules.constraints.at("role"), "build");
  EXPECT_EQ(j.restart, "never");
  EXPECT_TRUE(j.env.empty());  // no overlay, no secrets
  EXPECT_EQ(j.resources.ram_mb, 512);
  auto b = ParseBuildJob(j);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->app, "acme/prod/web");
  EXPECT_EQ(b->number, 7);
  EXPECT_EQ(b->source, Sample().source);
  EXPECT_EQ(b->stack, "stack/python:latest");
  EXPECT_EQ(b->timeout_s, 600);
  EXPECT_EQ(b->env.at("BUILDPACK_URL"), "python");
  EXPECT_EQ(b->ImageRef(), "apps/acme/prod/web:b7");
  EXPECT_EQ(b->CacheRepo(), "cache/acme/prod/web");
}

TEST(BuildJob, ServiceIsNotMistakenForAReleaseReplica) {
  msg::JobSpec j = MakeBuildJobSpec(Sample(), "abc123");
  EXPECT_EQ(j.service.find(".v"), std::string::npos);
}

TEST(BuildJob, HostileSpecsAreRefused) {
  auto with = [](const char* k, const std::string& v) {
    msg::JobSpec j = MakeBuildJobSpec(Sample(), "n");
    j.config[k] = v;
    return ParseBuildJob(j).ok();
  };
  EXPECT_FALSE(with(kApp, "../../etc"));
  EXPECT_FALSE(with(kApp, "acme/prod"));
  EXPECT_FALSE(with(kNumber, "0"));
  EXPECT_FALSE(with(kNumber, "-3"));
  EXPECT_FALSE(with(kNumber, "7x"));
  // Another app's source, a tag instead of a digest, an option-looking value.
  EXPECT_FALSE(with(kSource, "sources/other/prod/web@sha256:" + kDigest));
  EXPECT_FALSE(with(kSource, "sources/acme/prod/web:latest"));
  EXPECT_FALSE(with(kSource, "--help"));
  EXPECT_FALSE(with(kSource, "sources/acme/prod/web@sha256:" + std::string(64, 'G')));
  EXPECT_FALSE(with(kStack, "--privileged"));
  EXPECT_FALSE(with(kStack, "evil.example:5000/x"));
  EXPECT_FALSE(with(kStack, "stack/../x:latest"));
  EXPECT_TRUE(with(kStack, "auto"));
  EXPECT_FALSE(with(kTimeout, "0"));
  EXPECT_FALSE(with(kTimeout, "999999"));
  EXPECT_FALSE(with("RV_BUILD_ENV_../x", "1"));
  EXPECT_FALSE(with("RV_BUILD_ENV_", "1"));
  msg::JobSpec j = MakeBuildJobSpec(Sample(), "n");
  j.kind = "deploy";
  EXPECT_FALSE(ParseBuildJob(j).ok());
  j = MakeBuildJobSpec(Sample(), "n");
  j.resources.ram_mb = 1;
  EXPECT_FALSE(ParseBuildJob(j).ok());
}

TEST(BuildJob, BuilderArgvDerivesImageAndCacheFromTheAppOnly) {
  BuilderHost h;
  h.builder = "/opt/rv/builder";
  h.registry = "10.0.0.1:5000";
  h.state_dir = "/var/lib/x/builder";
  h.report_sauron = "tcp://10.0.0.1:7400";
  h.report_server_key = "KEY";
  h.report_key_file = "/keys/h1.key";
  h.job_id = "acme.prod.web.build.b7.n";
  auto a = BuilderArgv(Sample(), h);
  auto after = [&](const std::string& flag) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag) return a[i + 1];
    return std::string("<none>");
  };
  EXPECT_EQ(a[0], "/opt/rv/builder");
  EXPECT_EQ(a[1], "run");
  EXPECT_EQ(after("--image"), "apps/acme/prod/web:b7");
  EXPECT_EQ(after("--cache-repo"), "cache/acme/prod/web");
  EXPECT_EQ(after("--source-image"), Sample().source);
  EXPECT_EQ(after("--memory-mb"), "512");
  EXPECT_EQ(after("--cpus"), "1.500");
  EXPECT_EQ(after("--report-build"), "7");
  EXPECT_EQ(after("--report-job"), h.job_id);
  EXPECT_EQ(after("--env-dir"), "<none>");
}

TEST(BuildJob, BuilderArgvPassesTheRegistryCaAndPushCredentialOnlyWhenGiven) {
  BuilderHost h;
  h.builder = "/opt/rv/builder";
  h.registry = "10.0.0.1:5000";
  auto has = [](const std::vector<std::string>& a, const std::string& flag) -> std::string {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag) return a[i + 1];
    return "<none>";
  };
  auto plain = BuilderArgv(Sample(), h);
  EXPECT_EQ(has(plain, "--registry-ca"), "<none>");
  EXPECT_EQ(has(plain, "--registry-auth"), "<none>");
  h.registry_ca = "/pod/keys/pod-ca.crt";
  h.registry_auth = "/pod/keys/registry-push.cred";
  auto tls = BuilderArgv(Sample(), h);
  EXPECT_EQ(has(tls, "--registry-ca"), "/pod/keys/pod-ca.crt");
  EXPECT_EQ(has(tls, "--registry-auth"), "/pod/keys/registry-push.cred");
}

TEST(BuildJob, OnlyTheHostTheBuildIsPlacedOnMayWriteItsOutput) {
  msg::JobRecord r;
  r.spec = MakeBuildJobSpec(Sample(), "n");
  r.state = "placed";
  r.host_id = "h1";
  EXPECT_TRUE(MayAppendBuildOutput(r, "h1", "acme/prod/web", 7).ok());
  EXPECT_FALSE(MayAppendBuildOutput(r, "h2", "acme/prod/web", 7).ok());
  EXPECT_FALSE(MayAppendBuildOutput(r, "h1", "acme/prod/web", 8).ok());
  EXPECT_FALSE(MayAppendBuildOutput(r, "h1", "acme/prod/api", 7).ok());
  r.state = "stopped";
  EXPECT_FALSE(MayAppendBuildOutput(r, "h1", "acme/prod/web", 7).ok());
  r.state = "placed";
  r.spec.kind = "deploy";
  EXPECT_FALSE(MayAppendBuildOutput(r, "h1", "acme/prod/web", 7).ok());
}

}  // namespace
}  // namespace rv::build_job
