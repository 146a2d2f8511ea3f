#include "common/names.h"

#include <gtest/gtest.h>

namespace rv::names {

TEST(Names, AcceptsLowerCaseLettersDigitsAndDashes) {
  EXPECT_TRUE(ValidateName("acme", "tenant").ok());
  EXPECT_TRUE(ValidateName("web-2", "app").ok());
  EXPECT_TRUE(ValidateName("a", "user").ok());
  EXPECT_TRUE(ValidateName(std::string(kMaxNameLength, 'x'), "user").ok());
}

TEST(Names, RefusesPathsDotsSpacesUpperCaseAndEdgeDashes) {
  for (const char* bad : {"", "..", ".", "../x", "a/b", "a b", "Acme", "a_b", "-a", "a-", "a\n", "é", "a.git", "~"}) {
    Status s = ValidateName(bad, "app");
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("app name"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(ValidateName(std::string(kMaxNameLength + 1, 'x'), "user").ok());
}

TEST(Names, EnvRefIsTenantSlashEnvOrALoneEnv) {
  EXPECT_TRUE(ValidateEnvRef("acme/prod").ok());
  EXPECT_TRUE(ValidateEnvRef("prod").ok());
  for (const char* bad : {"../../x", "acme/../x", "/prod", "acme/", "acme/prod/web", "acme//prod", "", "acme/Prod"}) {
    EXPECT_FALSE(ValidateEnvRef(bad).ok()) << bad;
  }
}

TEST(Names, AppRefHasThreeValidParts) {
  auto r = ParseAppRef("acme/prod/web");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tenant, "acme");
  EXPECT_EQ(r->env, "prod");
  EXPECT_EQ(r->app, "web");
  EXPECT_EQ(r->EnvRef(), "acme/prod");
  for (const char* bad : {"acme/prod", "acme/prod/web/x", "acme/prod/..", "../prod/web", "acme/prod/web.git", ""}) {
    EXPECT_FALSE(ParseAppRef(bad).ok()) << bad;
  }
}

TEST(Names, QuoteIsPrintableAndBounded) {
  EXPECT_EQ(Quote("a\x1b[2Jb"), "'a?[2Jb'");
  EXPECT_EQ(Quote(std::string(100, 'x'), 4), "'xxxx...'");
}

}  // namespace rv::names
