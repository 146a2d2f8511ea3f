#include "cli/domain_cmds.h"

#include <gtest/gtest.h>

namespace rv::cli {
namespace {

TEST(DomainCmds, ListsNamesWithTheirCertificateAndExpiry) {
  constexpr int64_t kDay = 86400000, now = 1796400000000;
  msg::DomainListing l;
  l.domains = {{"shop.example.com", "acme/prod/web", false, "custom", "CN=Operator CA", now + 10 * kDay},
               {"web.prod.acme.rivendell.test", "acme/prod/web", true, "pod-CA", "CN=pod", now + 90 * kDay},
               {"new.example.com", "acme/prod/web", false, "", "", 0},
               {"old.example.com", "acme/prod/web", false, "custom", "", now - kDay}};
  std::string t = FormatDomains(l, now, true);
  EXPECT_NE(t.find("NAME"), std::string::npos);
  EXPECT_NE(t.find("APP"), std::string::npos);
  EXPECT_NE(t.find("web.prod.acme.rivendell.test"), std::string::npos);
  EXPECT_NE(t.find("default"), std::string::npos);
  EXPECT_NE(t.find("pod-CA"), std::string::npos);
  EXPECT_NE(t.find("90d"), std::string::npos);
  EXPECT_NE(t.find("10d"), std::string::npos);
  EXPECT_NE(t.find("none"), std::string::npos);
  EXPECT_NE(t.find("EXPIRED"), std::string::npos);
  EXPECT_EQ(FormatDomains(l, now, false).find("APP"), std::string::npos);
}

}  // namespace
}  // namespace rv::cli
