#include "common/proxy_job.h"

#include <gtest/gtest.h>

namespace rv {
namespace {

TEST(ProxyJob, TwoHaReplicasOfKindProxyOnTheEnvsPort) {
  auto jobs = ProxyJobsFor("acme/prod");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, "acme.prod.proxy-1");
  EXPECT_EQ((*jobs)[1].id, "acme.prod.proxy-2");
  for (const auto& j : *jobs) {
    EXPECT_EQ(j.kind, "proxy");
    EXPECT_EQ(j.env, "acme/prod");
    EXPECT_EQ(j.service, "acme/prod:proxy");
    EXPECT_TRUE(j.rules.ha);
    EXPECT_EQ(j.port, ProxyPortFor("acme/prod"));
    EXPECT_EQ(j.restart, "always");
    EXPECT_EQ(j.image, kProxyImage);
  }
}

TEST(ProxyJob, PortIsStableAndBelowTheTestAndEphemeralRanges) {
  EXPECT_EQ(ProxyPortFor("acme/prod"), ProxyPortFor("acme/prod"));
  EXPECT_NE(ProxyPortFor("acme/prod"), ProxyPortFor("acme/staging"));
  for (const char* e : {"a/b", "x/y", "tenant-1/env_2"}) {
    EXPECT_GE(ProxyPortFor(e), 10000);
    EXPECT_LT(ProxyPortFor(e), 20000);
  }
}

TEST(ProxyJob, RefusesAnEnvThatIsNotTenantSlashEnv) {
  for (const char* e : {"", "acme", "/prod", "acme/", "a/b/c", "acme/pr od", "acme/../x"}) {
    EXPECT_FALSE(ProxyJobsFor(e).ok()) << e;
  }
}

}  // namespace
}  // namespace rv
