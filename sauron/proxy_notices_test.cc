#include "sauron/proxy_notices.h"

#include <gtest/gtest.h>

#include "common/event_kinds.h"
#include "common/proxy_notice.h"
#include "sauron/proxy_test_jobs.h"

namespace rv::sauron {
namespace {

using testing::PlacedJob;

msg::Change JobChange(const std::string& kind, const msg::JobRecord& j) {
  msg::Change c;
  c.event.kind = kind;
  c.event.job_id = j.spec.id;
  c.event.host_id = j.host_id;
  c.job = j;
  return c;
}

msg::Change Plain(const std::string& kind, const std::string& detail) {
  msg::Change c;
  c.event.kind = kind;
  c.event.detail = detail;
  return c;
}

msg::HostRecord Host(const std::string& id, const std::string& addr) {
  msg::HostRecord h;
  h.id = id;
  h.address = addr;
  return h;
}

using Envs = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Two proxies of acme/prod (h1, h2), one of globex/prod (h3), a web replica of each.
ProxyNotices Seeded() {
  ProxyNotices n;
  n.Load({PlacedJob("ap1", "h1", "proxy"), PlacedJob("ap2", "h2", "proxy"),
          PlacedJob("gp1", "h3", "proxy", "running", "globex/prod"), PlacedJob("a", "h2"),
          PlacedJob("g", "h3", "deploy", "running", "globex/prod")},
         {Host("h1", "10.0.0.1"), Host("h2", "10.0.0.2"), Host("h3", "10.0.0.3")});
  return n;
}

TEST(ProxyNotices, LoadingWhatIsPlacedMarksNothing) {
  ProxyNotices n = Seeded();
  EXPECT_FALSE(n.Pending());
  EXPECT_EQ(n.ProxyHosts("acme/prod"), (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(n.ProxyHosts("globex/prod"), (std::vector<std::string>{"h3"}));
}

TEST(ProxyNotices, AWebReplicaStoppingTellsOnlyItsEnvsProxyHosts) {
  ProxyNotices n = Seeded();
  auto a = PlacedJob("a", "h2");
  a.state = "stopped";
  n.OnChange(JobChange(event_kind::kJobStopped, a));
  auto d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"acme/prod", {"h1", "h2"}}}));
  EXPECT_FALSE(d.edge);  // the edge knows proxies, not replicas
  EXPECT_FALSE(n.Pending());
}

TEST(ProxyNotices, ARunStateChangeCountsAndARepeatedReportDoesNot) {
  ProxyNotices n = Seeded();
  n.OnChange(JobChange(event_kind::kJobState, PlacedJob("a", "h2")));  // same as loaded
  EXPECT_FALSE(n.Pending());
  n.OnChange(JobChange(event_kind::kJobState, PlacedJob("a", "h2", "deploy", "unhealthy")));
  EXPECT_EQ(n.Take().envs, (Envs{{"acme/prod", {"h1", "h2"}}}));
  auto again = PlacedJob("a", "h2", "deploy", "unhealthy");
  again.attempt = 2;  // restarted: a new overlay address
  n.OnChange(JobChange(event_kind::kJobPlaced, again));
  EXPECT_EQ(n.Take().envs.size(), 1u);
}

TEST(ProxyNotices, JobsThatNoProxyRoutesToAreIgnored) {
  ProxyNotices n = Seeded();
  auto worker = PlacedJob("w", "h1");
  worker.spec.config["RV_PROCESS_TYPE"] = "worker";
  n.OnChange(JobChange(event_kind::kJobPlaced, worker));
  auto noenv = PlacedJob("x", "h1", "deploy", "running", "");
  n.OnChange(JobChange(event_kind::kJobPlaced, noenv));
  auto build = PlacedJob("b", "h1", "build");
  n.OnChange(JobChange(event_kind::kJobPlaced, build));
  EXPECT_FALSE(n.Pending());
}

TEST(ProxyNotices, AProxyMovingTellsTheEnvsProxyHostsAndTheEdge) {
  ProxyNotices n = Seeded();
  auto p = PlacedJob("ap2", "h2", "proxy");
  p.state = "pending";
  p.host_id = "";
  n.OnChange(JobChange(event_kind::kJobPending, p));
  auto d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"acme/prod", {"h1"}}}));  // h2 no longer runs one: its peer set changed
  EXPECT_TRUE(d.edge);
  auto placed = PlacedJob("ap2", "h3", "proxy", "starting");
  placed.attempt = 2;
  n.OnChange(JobChange(event_kind::kJobPlaced, placed));
  d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"acme/prod", {"h1", "h3"}}}));
  EXPECT_TRUE(d.edge);
}

TEST(ProxyNotices, NamesCertificatesAndConfigDirtyTheirEnv) {
  ProxyNotices n = Seeded();
  n.OnChange(Plain(event_kind::kDomainsChanged, "globex/prod"));
  auto d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"globex/prod", {"h3"}}}));
  EXPECT_TRUE(d.edge);
  n.OnChange(Plain(event_kind::kConfigSet, "acme/prod: ROUTER_MAX_BODY,ROUTER_RATE_LIMIT"));
  n.OnChange(Plain(event_kind::kConfigUnset, "acme/prod: FOO"));
  d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"acme/prod", {"h1", "h2"}}}));
  EXPECT_FALSE(d.edge);
  n.OnChange(Plain(event_kind::kConfigSet, "garbage without a colon"));
  EXPECT_FALSE(n.Pending());
}

TEST(ProxyNotices, AnEnvWithoutProxiesHasNobodyToTell) {
  ProxyNotices n = Seeded();
  n.OnChange(JobChange(event_kind::kJobPlaced, PlacedJob("n", "h1", "deploy", "running", "nobody/prod")));
  EXPECT_TRUE(n.Pending());
  auto d = n.Take();
  EXPECT_TRUE(d.envs.empty());
  EXPECT_FALSE(d.edge);
}

TEST(ProxyNotices, AProxyHostsNewAddressTellsItsEnvsAndTheEdge) {
  ProxyNotices n = Seeded();
  msg::Change same;
  same.event.kind = event_kind::kHostUp;
  same.host = Host("h3", "10.0.0.3");
  n.OnChange(same);
  EXPECT_FALSE(n.Pending());
  msg::Change moved = same;
  moved.host = Host("h3", "10.0.0.33");
  n.OnChange(moved);
  auto d = n.Take();
  EXPECT_EQ(d.envs, (Envs{{"globex/prod", {"h3"}}}));
  EXPECT_TRUE(d.edge);
}

TEST(ProxyNotice, DetailRoundTripsAndMalformedIsIgnored) {
  std::string d = FormatProxyNotice("acme/prod", {"h1", "h2"});
  EXPECT_EQ(d, "acme/prod h1,h2");
  auto n = ParseProxyNotice(d);
  EXPECT_EQ(n.env, "acme/prod");
  EXPECT_EQ(n.hosts, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_TRUE(ProxyNoticeFor(n, "h2"));
  EXPECT_FALSE(ProxyNoticeFor(n, "h"));
  EXPECT_TRUE(ParseProxyNotice("nospace").env.empty());
  EXPECT_TRUE(ParseProxyNotice(" h1").env.empty());
  EXPECT_TRUE(ParseProxyNotice("").env.empty());
}

}  // namespace
}  // namespace rv::sauron
