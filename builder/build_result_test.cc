#include "builder/build_result.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rv::builder {
namespace {

TEST(ProcessTypes, ParsesNameCommandLinesInOrder) {
  auto t = ParseProcessTypes("worker: python worker.py\n\nweb: python app.py --port $PORT\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0], (std::pair<std::string, std::string>{"worker", "python worker.py"}));
  EXPECT_EQ((*t)[1].second, "python app.py --port $PORT");
}

TEST(ProcessTypes, ALaterDuplicateReplacesTheEarlierInPlace) {
  auto t = ParseProcessTypes("web: a\nweb: b: c\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (ProcessTypes{{"web", "b: c"}}));
}

TEST(ProcessTypes, RefusesBadNamesMissingCommandsAndControlCharacters) {
  EXPECT_FALSE(ParseProcessTypes("no colon here\n").ok());
  EXPECT_FALSE(ParseProcessTypes("../x: y\n").ok());
  EXPECT_FALSE(ParseProcessTypes("web:\n").ok());
  EXPECT_FALSE(ParseProcessTypes("web: a\x1b[2Jb\n").ok());
  EXPECT_FALSE(ParseProcessTypes("web: " + std::string(kMaxCommandBytes + 1, 'x')).ok());
  std::string many;
  for (int i = 0; i < 65; i++) many.append("t").append(std::to_string(i)).append(": x\n");
  EXPECT_FALSE(ParseProcessTypes(many).ok());
  auto e = ParseProcessTypes("w\x1b]0;x\x07: y\n");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().find('\x1b'), std::string::npos);
}

// The commands go into the image's JSON labels and config; a byte JSON
// cannot hold once threw out of the builder (found by fuzz_build_result).
TEST(ProcessTypes, AcceptsUtf8CommandsAndRefusesOtherBytesSoTheLabelsStayJson) {
  auto ok = ParseProcessTypes("web: echo caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto j = nlohmann::json::parse(ProcessTypesJson(*ok));
  EXPECT_EQ(j["web"], "echo caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
  for (const char* bad : {"web: caf\xe9\n", "web: \xc3\n", "web: \xc0\xafx\n", "web: \xed\xa0\x80\n",
                          "web: \xf4\x90\x80\x80\n", "web: \xf9\n"}) {
    auto e = ParseProcessTypes(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.status().message().find("not UTF-8"), std::string::npos) << e.status().message();
  }
}

TEST(ProcessTypes, DefaultCommandIsWebElseTheFirst) {
  EXPECT_EQ(DefaultCommand({{"worker", "w"}, {"web", "x"}}), "x");
  EXPECT_EQ(DefaultCommand({{"worker", "w"}, {"clock", "c"}}), "w");
  EXPECT_EQ(DefaultCommand({}), "");
}

TEST(Buildpacks, ParsesOneNamePerLineAndRefusesPaths) {
  auto b = ParseBuildpacks("python\nprocfile\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<std::string>{"python", "procfile"}));
  EXPECT_FALSE(ParseBuildpacks("../../etc\n").ok());
  EXPECT_FALSE(ParseBuildpacks("a b\n").ok());
}

TEST(AppName, AcceptsTenantEnvAppOnly) {
  EXPECT_TRUE(ValidateAppName("acme/prod/web").ok());
  EXPECT_FALSE(ValidateAppName("acme/prod").ok());
  EXPECT_FALSE(ValidateAppName("../../x/y/z").ok());
  EXPECT_FALSE(ValidateAppName("acme/prod/web/x").ok());
  EXPECT_FALSE(ValidateAppName("Acme/prod/web").ok());
  EXPECT_FALSE(ValidateAppName("acme//web").ok());
}

TEST(ResultLine, IsOneLineOfJsonWithTheContractKeys) {
  BuildResult r;
  r.repo = "acme/prod/web";
  r.digest = "sha256:" + std::string(64, 'a');
  r.size_bytes = 1234;
  r.process_types = {{"web", "python app.py"}, {"worker", "python w.py"}};
  r.buildpacks = {"python"};
  r.seconds = 1.23456;
  r.steps = {{"stack_pull", 0.01}};
  std::string line = ResultLine(r);
  ASSERT_EQ(line.rfind("builder: result ", 0), 0u);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line.substr(16));
  EXPECT_EQ(j["image"], "acme/prod/web@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(j["digest"], r.digest);
  EXPECT_EQ(j["size_bytes"], 1234);
  EXPECT_EQ(j["process_types"]["web"], "python app.py");
  EXPECT_EQ(j["buildpacks"][0], "python");
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 1.235);
  EXPECT_DOUBLE_EQ(j["steps"]["stack_pull"].get<double>(), 0.01);
}

TEST(ErrorLine, IsOneSafeLine) {
  std::string l = ErrorLine("build failed\nsecond\x1b[31m line");
  EXPECT_EQ(l, "builder: error build failed | second line");
  EXPECT_EQ(ErrorLine(""), "builder: error build failed");
}

}  // namespace
}  // namespace rv::builder
