#include "sauron/domain_names.h"

#include <gtest/gtest.h>

namespace rv::sauron {
namespace {

names::AppRef App(const std::string& t, const std::string& e, const std::string& a) { return {t, e, a}; }

TEST(DomainNames, AcceptsOrdinaryNames) {
  for (const char* n : {"example.com", "www.example.com", "a-b.c-d.example", "x1.y2.z3", "a.b"}) {
    EXPECT_TRUE(ValidateDomainName(n).ok()) << n;
  }
}

TEST(DomainNames, RefusesMalformedNamesWithTheReason) {
  struct Case {
    std::string name, why;
  } cases[] = {
      {"", "required"},
      {"localhost", "at least one '.'"},
      {"Example.com", "upper-case"},
      {"-a.example.com", "starts or ends with '-'"},
      {"a-.example.com", "starts or ends with '-'"},
      {"a..example.com", "empty label"},
      {".example.com", "empty label"},
      {"example.com.", "trailing dot"},
      {"*.example.com", "wildcard"},
      {"a_b.example.com", "only a-z"},
      {"a b.example.com", "only a-z"},
      {"10.0.0.1", "address"},
      {std::string(64, 'a') + ".com", "longer than 63"},
      {std::string(250, 'a').replace(60, 1, ".").replace(120, 1, ".").replace(180, 1, ".") + ".com", "253"},
  };
  for (const auto& c : cases) {
    Status s = ValidateDomainName(c.name);
    EXPECT_FALSE(s.ok()) << c.name;
    EXPECT_NE(s.message().find(c.why), std::string::npos) << c.name << ": " << s.message();
  }
}

TEST(DomainNames, DefaultNameIsAppEnvTenantUnderThePodDomain) {
  EXPECT_EQ(DefaultName(App("acme", "prod", "web"), "rivendell.test"), "web.prod.acme.rivendell.test");
  // Two tenants' same-named environments and apps get different names.
  EXPECT_NE(DefaultName(App("acme", "prod", "web"), "p.test"), DefaultName(App("globex", "prod", "web"), "p.test"));
  EXPECT_TRUE(ValidateDomainName(DefaultName(App("a", "b", "c"), "rivendell.test")).ok());
}

TEST(DomainNames, UnderDomainMatchesWholeLabelsOnly) {
  EXPECT_TRUE(IsUnderDomain("x.rivendell.test", "rivendell.test"));
  EXPECT_TRUE(IsUnderDomain("rivendell.test", "rivendell.test"));
  EXPECT_FALSE(IsUnderDomain("xrivendell.test", "rivendell.test"));
  EXPECT_FALSE(IsUnderDomain("test", "rivendell.test"));
}

TEST(DomainNames, RefusesAnotherNameUnderThePodDomain) {
  auto app = App("acme", "prod", "web");
  EXPECT_TRUE(CheckCustomName("web.prod.acme.rivendell.test", app, "rivendell.test").ok());
  EXPECT_TRUE(CheckCustomName("shop.example.com", app, "rivendell.test").ok());
  Status s = CheckCustomName("web.prod.globex.rivendell.test", app, "rivendell.test");
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  EXPECT_NE(s.message().find("answers at web.prod.acme.rivendell.test"), std::string::npos) << s.message();
  EXPECT_FALSE(CheckCustomName("rivendell.test", app, "rivendell.test").ok());
  EXPECT_FALSE(CheckCustomName("*.rivendell.test", app, "rivendell.test").ok());
}

}  // namespace
}  // namespace rv::sauron
