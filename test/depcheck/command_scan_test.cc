#include "test/depcheck/command_scan.h"

#include <gtest/gtest.h>

namespace rv::depcheck {
namespace {

std::set<std::string> Names(const std::vector<CommandUse>& v, Certainty c = Certainty::kStrong) {
  std::set<std::string> out;
  for (const auto& u : v) if (u.certainty == c) out.insert(u.name);
  return out;
}

using S = std::set<std::string>;

TEST(ShellScan, FindsTheProgramAtEachCommandPosition) {
  EXPECT_EQ(Names(CommandsInShell("ping -c 1 x | grep ok && tcpdump -i br0; iperf3 -s &\n")),
            (S{"ping", "grep", "tcpdump", "iperf3"}));
}

TEST(ShellScan, LooksInsideCommandSubstitutionsAndBackticks) {
  EXPECT_EQ(Names(CommandsInShell("x=$(git rev-parse HEAD) y=\"$(jq -r .a f | sort)\" z=`hostname`\n")),
            (S{"git", "jq", "sort", "hostname"}));
}

TEST(ShellScan, SeesThroughWrappersToTheProgramTheyRun) {
  EXPECT_EQ(Names(CommandsInShell("timeout 5 curl -s x\nip netns exec h1 ping -c 1 y\n"
                                  "nsenter --net=/run/netns/a -- iperf3 -c z\nsudo -u app env A=1 wrk -t1 u\n"
                                  "exec taskset -c 0 chrt -f 1 socat - -\n")),
            (S{"timeout", "curl", "ip", "ping", "nsenter", "iperf3", "sudo", "env", "wrk", "taskset", "chrt", "socat"}));
}

TEST(ShellScan, IgnoresCommentsHeredocsAndStrings) {
  std::string s =
      "# ping is mentioned here\n"
      "echo \"run nft later\" 'and tcpdump'\n"
      "cat <<EOF\nwrk -t 2 http://x\nEOF\n"
      "cat <<-'END'\n\tiperf3 -s\n\tEND\n";
  EXPECT_EQ(Names(CommandsInShell(s)), (S{"cat"}));
}

TEST(ShellScan, IgnoresAssignmentsArraysRedirectionsAndBuiltins) {
  std::string s =
      "packages=(\n  g++ cmake # toolchain\n  iputils-ping\n)\n"
      "A=1 B=2 make -j2 >/dev/null 2>&1\n"
      "local x; read -r y <f; set -e; [ -x f ] && printf '%s' z\n";
  EXPECT_EQ(Names(CommandsInShell(s)), (S{"make"}));
}

TEST(ShellScan, ReadsCaseArmsAsCommandsNotTheirPatterns) {
  std::string s = "case \"$1\" in\n  start|stop) systemctl x ;;\n  --dir) dir=$2; shift 2 ;;\n"
                  "  *) usage ;;\nesac\nafter\n";
  EXPECT_EQ(Names(CommandsInShell(s)), (S{"systemctl", "usage", "after"}));
}

TEST(ShellScan, SkipsLoopHeadersAndArithmeticButNotTheirBodies) {
  std::string s = "for h in a b c; do ping -c1 $h; done\nwhile (( i < 3 )); do sleep 1; i=$((i + 1)); done\n";
  EXPECT_EQ(Names(CommandsInShell(s)), (S{"ping", "sleep"}));
}

TEST(ShellScan, NamesAnAbsoluteSystemPathByItsProgramAndSkipsProjectPaths) {
  EXPECT_EQ(Names(CommandsInShell("/usr/sbin/runc list\n\"$root/scripts/pod\" up\nbench/run x\n./a.out\n")),
            (S{"runc"}));
}

TEST(ShellScan, CountsNoParenthesisInsideAQuotedStringOfASubstitution) {
  EXPECT_EQ(Names(CommandsInShell("if [ \"$(ps | grep -c \"running (healthy\")\" = 3 ]; then ok; fi\n"
                                  "fail \"want 3 running\"\n")),
            (S{"ps", "grep", "ok", "fail"}));
}

TEST(ShellScan, ReadsAParameterExpansionAsOneWord) {
  EXPECT_EQ(Names(CommandsInShell("b=${RV_BUILD:?run through bench/run}\nexec \"$b/x\"\n")), S{});
}

TEST(ShellScan, FollowsLineContinuations) {
  EXPECT_EQ(Names(CommandsInShell("timeout 3 \\\n  tcpdump -i x\n")), (S{"timeout", "tcpdump"}));
}

TEST(ShellScan, ReportsTheLineOfEachUse) {
  auto v = CommandsInShell("true\n\nping x\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].line, 3);
}

TEST(ShellFunctions, ListsDefinedFunctionsSoTheyAreNotTakenForPrograms) {
  EXPECT_EQ(ShellFunctions("fail() { echo; }\nfunction cleanup {\n:\n}\n  need_cmd () {\n"),
            (S{"fail", "cleanup", "need_cmd"}));
}

TEST(CxxScan, FindsTheProgramsOfAShellCommandBuiltByConcatenation) {
  std::string s = "EXPECT_EQ(Sh(\"ip netns exec \" + Ns(\"x1\") + \" ping -c 2 -W 1 10.0.0.1\"), 0);\n";
  EXPECT_EQ(Names(CommandsInCxx(s)), (S{"ip", "ping"}));
}

TEST(CxxScan, FindsExeclpArgvAndRunCmdPrograms) {
  std::string s =
      "execlp(\"ip\", \"ip\", \"netns\", \"exec\", (p_ + \"ul\").c_str(), \"tcpdump\", \"-i\", nullptr);\n"
      "RunCmd({\"iptables\", \"-w\", \"2\"});\n"
      "popen((cmd + \" 2>&1\").c_str(), \"r\");\n";
  EXPECT_EQ(Names(CommandsInCxx(s)), (S{"ip", "tcpdump", "iptables"}));
}

TEST(CxxScan, TakesAbsoluteSystemPathsAsStrongAndBraceListsAsWeak) {
  std::string s = "const char* kIp = \"/usr/sbin/ip\";\nstd::vector<std::string> v = {\"nft\", \"-j\", \"list\"};\n"
                  "auto r = {\"route\", \"add\"};\n"
                  "json j = {{\"kind\", \"pid\"}};\n";
  EXPECT_EQ(Names(CommandsInCxx(s)), (S{"ip"}));
  EXPECT_EQ(Names(CommandsInCxx(s), Certainty::kWeak), (S{"nft"}));
}

TEST(CxxScan, IgnoresCommentsAndSqlCalls) {
  std::string s = "// Sh(\"ping x\")\n/* system(\"wrk\") */\nExec(\"ROLLBACK\");\nchar q = '\"';\n";
  EXPECT_TRUE(CommandsInCxx(s).empty());
}

TEST(InstallDeps, ReadsThePackagesArrayWithoutComments) {
  std::string s = "set -e\npackages=(\n  # toolchain (and more)\n  g++ cmake\n  iputils-ping # ping (a comment)\n)\nfor p in x; do :; done\n";
  EXPECT_EQ(PackagesInInstallDeps(s), (S{"g++", "cmake", "iputils-ping"}));
}

}  // namespace
}  // namespace rv::depcheck
