#include "builder/stack_choice.h"

#include <gtest/gtest.h>

namespace rv::builder {
namespace {

TEST(StackChoice, PythonAmongThePacksTakesThePythonStack) {
  auto c = ChooseStack(0, "python\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->stack, "stack/python:latest");
  EXPECT_EQ(c->packs, std::vector<std::string>{"python"});
  auto two = ChooseStack(0, "static\npython\n");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->stack, "stack/python:latest");
}

TEST(StackChoice, PacksWithoutPythonTakeTheBusyboxStack) {
  for (const char* out : {"static\n", "procfile\n", "static\nprocfile\n", "procfile"}) {
    auto c = ChooseStack(0, out);
    ASSERT_TRUE(c.ok()) << out;
    EXPECT_EQ(c->stack, "stack/busybox:latest") << out;
  }
}

TEST(StackChoice, ANameThatOnlyContainsPythonIsNotPython) {
  auto c = ChooseStack(0, "python2\nmy-python\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->stack, "stack/busybox:latest");
}

TEST(StackChoice, AFailedChoiceGivesTheDriversReason) {
  auto c = ChooseStack(1, " !     no buildpack detected this app: no Procfile, index.html\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "no buildpack detected this app: no Procfile, index.html");
  auto silent = ChooseStack(3, "");
  ASSERT_FALSE(silent.ok());
  EXPECT_NE(silent.status().message().find("exit 3"), std::string::npos);
}

TEST(StackChoice, OutputThatIsNotPackNamesIsRefused) {
  EXPECT_FALSE(ChooseStack(0, "").ok());
  EXPECT_FALSE(ChooseStack(0, "\n\n").ok());
  EXPECT_FALSE(ChooseStack(0, "python\n../etc\n").ok());
  EXPECT_FALSE(ChooseStack(0, "Python\n").ok());
  EXPECT_FALSE(ChooseStack(0, ".hidden\n").ok());
  EXPECT_FALSE(ChooseStack(0, "a\nb\nc\nd\ne\nf\ng\nh\ni\n").ok());
  auto ctl = ChooseStack(0, "py\x1b[2Jthon\n");
  ASSERT_FALSE(ctl.ok());
  EXPECT_EQ(ctl.status().message().find('\x1b'), std::string::npos) << "control bytes reach the message";
}

TEST(StackChoice, CrlfAndTrailingBlanksAreTolerated) {
  auto c = ChooseStack(0, "python\r\n  \n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->packs, std::vector<std::string>{"python"});
}

}  // namespace
}  // namespace rv::builder
