#include "test/depcheck/dep_check.h"

#include <gtest/gtest.h>

namespace rv::depcheck {
namespace {

class FakeMachine : public Machine {
 public:
  std::map<std::string, std::string> path;     // program -> file
  std::map<std::string, std::string> package;  // file -> package
  std::set<std::string> essential;
  std::optional<std::string> Which(const std::string& n) override {
    auto it = path.find(n);
    return it == path.end() ? std::nullopt : std::optional(it->second);
  }
  std::vector<std::string> PackagesOf(const std::string& p) override {
    auto it = package.find(p);
    if (it == package.end()) return {};
    return {it->second};
  }
  bool Essential(const std::string& p) override { return essential.count(p) > 0; }
};

Use U(const std::string& name, Certainty c = Certainty::kStrong) { return {"t.sh", {name, 1, c}}; }

TEST(DepCheck, FailsForAProgramThisMachineLacksSayingItIsNotInstalled) {
  FakeMachine m;
  Verdict v = Check({U("ping")}, {}, {"iproute2"}, m);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].program, "ping");
  EXPECT_NE(v.problems[0].message.find("not installed"), std::string::npos);
}

TEST(DepCheck, FailsForAnInstalledProgramWhosePackageInstallDepsDoesNotName) {
  FakeMachine m;
  m.path["ping"] = "/usr/bin/ping";
  m.package["/usr/bin/ping"] = "iputils-ping";
  Verdict v = Check({U("ping")}, {}, {"iproute2"}, m);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].package, "iputils-ping");
}

TEST(DepCheck, PassesAProgramFromAnInstallDepsPackageOrAnEssentialOne) {
  FakeMachine m;
  m.path = {{"ping", "/usr/bin/ping"}, {"sed", "/usr/bin/sed"}};
  m.package = {{"/usr/bin/ping", "iputils-ping"}, {"/usr/bin/sed", "sed"}};
  m.essential = {"sed"};
  Verdict v = Check({U("ping"), U("sed")}, {}, {"iputils-ping"}, m);
  EXPECT_TRUE(v.problems.empty());
  EXPECT_EQ(v.ok.at("ping"), "iputils-ping");
}

TEST(DepCheck, PassesTheProjectsOwnProgramsAndFunctions) {
  FakeMachine m;
  Verdict v = Check({U("rv"), U("fail")}, {"rv", "fail"}, {}, m);
  EXPECT_TRUE(v.problems.empty());
}

TEST(DepCheck, IgnoresAWeakUseThatNamesNoProgramButChecksOneThatDoes) {
  FakeMachine m;
  m.path["nft"] = "/usr/sbin/nft";
  m.package["/usr/sbin/nft"] = "nftables";
  Verdict v = Check({U("type", Certainty::kWeak), U("nft", Certainty::kWeak)}, {}, {}, m);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].program, "nft");
}

}  // namespace
}  // namespace rv::depcheck
