#include "cli/run_cmd.h"

#include <gtest/gtest.h>

namespace rv::cli {
namespace {

TEST(RunCommandTest, TheWordsAfterTheAppAreOneCommandLineJoinedBySpaces) {
  EXPECT_EQ(CommandLine({"rake", "db:migrate"}), "rake db:migrate");
  EXPECT_EQ(CommandLine({"echo $HOME; ls"}), "echo $HOME; ls") << "one quoted word stays as written";
  EXPECT_EQ(CommandLine({}), "");
}

}  // namespace
}  // namespace rv::cli
