#include "gitrecv/console_command.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv::gitrecv {
namespace {

TEST(ConsoleCommand, TakesTheAppAndKeepsTheCommandLineAsWritten) {
  auto c = ParseConsoleCommand("run acme/prod/web -- rake db:migrate VERSION='1 2'");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->app.ToString(), "acme/prod/web");
  EXPECT_EQ(c->line, "rake db:migrate VERSION='1 2'");
  auto bare = ParseConsoleCommand("run acme/prod/web echo $HOME; ls");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->line, "echo $HOME; ls") << "the -- is optional; the line runs in the app's container";
}

TEST(ConsoleCommand, OnlyRunIsAConsoleCommand) {
  EXPECT_TRUE(IsConsole("run acme/prod/web ls"));
  EXPECT_TRUE(IsConsole("run"));
  EXPECT_FALSE(IsConsole("git-receive-pack 'acme/prod/web.git'"));
  EXPECT_FALSE(IsConsole("runner acme/prod/web"));
  EXPECT_FALSE(IsConsole(""));
}

TEST(ConsoleCommand, RefusesWhatIsNotOneAppAndOnePrintableLine) {
  for (const std::string& bad : std::vector<std::string>{"run", "run ", "run acme/prod/web", "run acme/prod/web --", "run acme/prod/web -- ",
                                "run ../../etc/passwd ls", "run acme/prod ls", "run acme/prod/web/x ls",
                                "run Acme/prod/web ls", "run acme/prod/web -- ls\nrm -rf /", "run acme/prod/web ls\tx",
                                "run acme/prod/web caf\xe9", "run acme/prod/web " + std::string(kMaxCommandLine + 1, 'x')}) {
    auto c = ParseConsoleCommand(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_FALSE(c.status().message().empty());
      EXPECT_EQ(c.status().message().find('\n'), std::string::npos) << "one printable line: " << c.status().message();
    }
  }
}

TEST(ConsoleCommand, AUtf8CommandLinePasses) {
  auto c = ParseConsoleCommand("run acme/prod/web -- echo café");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->line, "echo café");
}

}  // namespace
}  // namespace rv::gitrecv
