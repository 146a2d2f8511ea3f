#include "sauron/releases.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace rv::sauron {
namespace {

class ReleaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rv-releases-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    rs_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    rs_.reset();
    auto r = ReleaseStore::Open((dir_ / "sauron.db").string());
    ASSERT_TRUE(r.ok()) << r.status().message();
    rs_ = std::move(*r);
  }
  msg::ReleaseRecord Create(const std::string& app, const std::string& image) {
    msg::ReleaseCreate c;
    c.app = app;
    c.image = image;
    c.digest = "sha256:" + image;
    c.process_types = {{"web", "httpd -f -p $PORT"}, {"worker", "sleep 1000"}};
    c.commit = "abc123";
    c.user = "alice";
    c.description = "deploy abc123";
    auto r = rs_->CreateRelease(c, 1000);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : msg::ReleaseRecord{};
  }
  std::filesystem::path dir_;
  std::unique_ptr<ReleaseStore> rs_;
};

TEST_F(ReleaseStoreTest, ReleasesAreNumberedPerAppFromOne) {
  EXPECT_EQ(Create("acme/prod/web", "a@1").version, 1);
  EXPECT_EQ(Create("acme/prod/web", "a@2").version, 2);
  EXPECT_EQ(Create("acme/prod/api", "b@1").version, 1);
  auto l = rs_->Releases("acme/prod/web", 10);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->releases.size(), 2u);
  EXPECT_EQ(l->releases[0].version, 2);  // newest first
  EXPECT_EQ(l->releases[0].image, "a@2");
  EXPECT_EQ(l->releases[0].state, "created");
  EXPECT_EQ(l->current, 0);  // none deployed yet
}

TEST_F(ReleaseStoreTest, AFirstReleaseGetsOneWebProcessByDefault) {
  auto r = Create("acme/prod/web", "a@1");
  EXPECT_EQ(r.formation, (std::map<std::string, int32_t>{{"web", 1}}));
  ASSERT_TRUE(rs_->SetFormation("acme/prod/web", {{"web", 3}, {"worker", 1}}).ok());
  EXPECT_EQ(Create("acme/prod/web", "a@2").formation, (std::map<std::string, int32_t>{{"web", 3}, {"worker", 1}}));
  // The release keeps the formation it was made with.
  auto v1 = rs_->Release("acme/prod/web", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->formation.at("web"), 1);
}

TEST_F(ReleaseStoreTest, AReleaseStateMovesOnceAndNothingElseChanges) {
  Create("acme/prod/web", "a@1");
  ASSERT_TRUE(rs_->SetReleaseState("acme/prod/web", 1, "deployed", "").ok());
  EXPECT_TRUE(rs_->SetReleaseState("acme/prod/web", 1, "deployed", "").ok());  // a retry
  Status again = rs_->SetReleaseState("acme/prod/web", 1, "failed", "late");
  EXPECT_EQ(again.code(), Status::Code::kConflict) << again.message();
  EXPECT_FALSE(rs_->SetReleaseState("acme/prod/web", 1, "created", "").ok());
  EXPECT_EQ(rs_->SetReleaseState("acme/prod/web", 7, "deployed", "").code(), Status::Code::kNotFound);
  auto r = rs_->Release("acme/prod/web", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, "deployed");
  EXPECT_EQ(r->image, "a@1");
  EXPECT_EQ(rs_->Releases("acme/prod/web", 10)->current, 1);
}

TEST_F(ReleaseStoreTest, ARollbackCopiesTheImageOfTheReleaseItNames) {
  Create("acme/prod/web", "a@1");
  Create("acme/prod/web", "a@2");
  msg::ReleaseCreate rb;
  rb.app = "acme/prod/web";
  rb.from_version = 1;
  rb.user = "bob";
  rb.description = "rollback to v1";
  auto r = rs_->CreateRelease(rb, 2000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->image, "a@1");
  EXPECT_EQ(r->process_types.at("web"), "httpd -f -p $PORT");
  EXPECT_EQ(r->user, "bob");
  rb.from_version = 9;
  EXPECT_EQ(rs_->CreateRelease(rb, 2000).status().code(), Status::Code::kNotFound);
  rb.from_version = 1;
  rb.image = "other@1";  // a copy names no image of its own
  EXPECT_FALSE(rs_->CreateRelease(rb, 2000).ok());
}

TEST_F(ReleaseStoreTest, ABadAppNameOrProcessTypeIsRefused) {
  msg::ReleaseCreate c;
  c.image = "x@1";
  for (const char* bad : {"", "acme", "acme/prod", "acme/prod/web/x", "../../x/y", "Acme/prod/web", "acme//web",
                          "acme/prod/-web", "acme/prod/we b"}) {
    c.app = bad;
    EXPECT_EQ(rs_->CreateRelease(c, 1).status().code(), Status::Code::kInvalid) << bad;
  }
  c.app = "acme/prod/web";
  c.process_types = {{"../x", "sh"}};
  EXPECT_EQ(rs_->CreateRelease(c, 1).status().code(), Status::Code::kInvalid);
  // Stored as JSON: a command that is not UTF-8 is refused, not thrown on.
  c.process_types = {{"web", "echo caf\xe9"}};
  EXPECT_EQ(rs_->CreateRelease(c, 1).status().code(), Status::Code::kInvalid);
  EXPECT_FALSE(rs_->SetFormation("acme/prod/web", {{"web", -1}}).ok());
  EXPECT_FALSE(rs_->SetFormation("acme/prod/web", {{"web", 101}}).ok());
}

TEST_F(ReleaseStoreTest, BuildOutputIsAppendedInChunksAndReadBackWhole) {
  auto b = rs_->StartBuild("acme/prod/web", "abc123", "alice", 10);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->number, 1);
  EXPECT_EQ(b->state, "running");
  std::string all;
  for (int i = 0; i < 50; ++i) {
    std::string line = "-----> line " + std::to_string(i) + "\n";
    all += line;
    ASSERT_TRUE(rs_->AppendOutput("acme/prod/web", 1, line).ok());
  }
  auto out = rs_->Output("acme/prod/web", 1, 0, 1 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->text, all);
  EXPECT_EQ(out->next_offset, static_cast<int64_t>(all.size()));
  // Paged reads from any offset give the same bytes.
  std::string paged;
  int64_t off = 0;
  while (off < static_cast<int64_t>(all.size())) {
    auto p = rs_->Output("acme/prod/web", 1, off, 7);
    ASSERT_TRUE(p.ok());
    ASSERT_FALSE(p->text.empty());
    paged += p->text;
    off = p->next_offset;
  }
  EXPECT_EQ(paged, all);
  msg::BuildFinish f{"acme/prod/web", 1, true, "acme/prod/web@sha256:1", "sha256:1", ""};
  ASSERT_TRUE(rs_->FinishBuild(f, 20).ok());
  EXPECT_EQ(rs_->FinishBuild(f, 21).code(), Status::Code::kConflict);
  EXPECT_EQ(rs_->AppendOutput("acme/prod/web", 1, "late\n").code(), Status::Code::kConflict);
  EXPECT_EQ(rs_->StartBuild("acme/prod/web", "def", "alice", 30)->number, 2);
}

TEST_F(ReleaseStoreTest, OutputPastTheLimitIsCutWithANote) {
  ASSERT_TRUE(rs_->StartBuild("acme/prod/web", "abc", "alice", 10).ok());
  std::string chunk(ReleaseStore::kMaxChunkBytes, 'x');
  for (int64_t n = 0; n < ReleaseStore::kMaxOutputBytes / static_cast<int64_t>(chunk.size()) + 2; ++n) {
    ASSERT_TRUE(rs_->AppendOutput("acme/prod/web", 1, chunk).ok());
  }
  auto b = rs_->Builds("acme/prod/web", 1);
  ASSERT_TRUE(b.ok());
  EXPECT_LT((*b)[0].output_bytes, ReleaseStore::kMaxOutputBytes + 100);
  auto tail = rs_->Output("acme/prod/web", 1, ReleaseStore::kMaxOutputBytes - 4, 1000);
  ASSERT_TRUE(tail.ok());
  EXPECT_NE(tail->text.find("output cut"), std::string::npos);
  EXPECT_EQ(rs_->AppendOutput("acme/prod/web", 1, std::string(ReleaseStore::kMaxChunkBytes + 1, 'y')).code(),
            Status::Code::kInvalid);
}

TEST_F(ReleaseStoreTest, BuildsAndReleasesSurviveARestart) {
  ASSERT_TRUE(rs_->StartBuild("acme/prod/web", "abc", "alice", 10).ok());
  ASSERT_TRUE(rs_->AppendOutput("acme/prod/web", 1, "hello\n").ok());
  Create("acme/prod/web", "a@1");
  ASSERT_TRUE(rs_->SetReleaseState("acme/prod/web", 1, "deployed", "").ok());
  Reopen();
  EXPECT_EQ(rs_->Output("acme/prod/web", 1, 0, 100)->text, "hello\n");
  EXPECT_EQ(rs_->Releases("acme/prod/web", 10)->current, 1);
  EXPECT_EQ(Create("acme/prod/web", "a@2").version, 2);
  EXPECT_EQ(rs_->StartBuild("acme/prod/web", "def", "alice", 30)->number, 2);
}

TEST_F(ReleaseStoreTest, AConfigChangeMakesAReleaseForEachDeployedAppOfTheEnv) {
  Create("acme/prod/web", "a@1");
  ASSERT_TRUE(rs_->SetReleaseState("acme/prod/web", 1, "deployed", "").ok());
  Create("acme/prod/web", "a@2");  // never deployed: not what the config release copies
  Create("acme/prod/api", "b@1");  // nothing deployed: no config release
  Create("acme/test/web", "c@1");  // another environment
  ASSERT_TRUE(rs_->SetReleaseState("acme/test/web", 1, "deployed", "").ok());
  EXPECT_EQ(*rs_->ConfigVersion("acme/prod"), 0);
  auto made = rs_->BumpConfig("acme/prod", "set A", 5000);
  ASSERT_TRUE(made.ok()) << made.status().message();
  ASSERT_EQ(made->size(), 1u);
  EXPECT_EQ((*made)[0].app, "acme/prod/web");
  EXPECT_EQ((*made)[0].version, 3);
  EXPECT_EQ((*made)[0].image, "a@1");
  EXPECT_EQ((*made)[0].config_version, 1);
  EXPECT_EQ((*made)[0].state, "created");
  EXPECT_EQ(*rs_->ConfigVersion("acme/prod"), 1);
  EXPECT_EQ(*rs_->ConfigVersion("acme/test"), 0);
  EXPECT_EQ(rs_->Releases("acme/test/web", 10)->releases.size(), 1u);
  // A later release records the new config version.
  EXPECT_EQ(Create("acme/prod/web", "a@4").config_version, 1);
}

}  // namespace
}  // namespace rv::sauron
