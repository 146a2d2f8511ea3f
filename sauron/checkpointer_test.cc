#include "sauron/checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "common/clock.h"
#include "sauron/sqlite_exec.h"

namespace rv::sauron {
namespace {

class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-ckpt-" + std::to_string(getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "db").string();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    ASSERT_TRUE(SqliteExec(db_, "PRAGMA journal_mode=WAL").ok());
    ASSERT_TRUE(SqliteExec(db_, "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)").ok());
  }
  void TearDown() override {
    checkpointer_.reset();
    sqlite3_close_v2(db_);
    std::filesystem::remove_all(dir_);
  }
  // One transaction inserting `rows` rows of 5 KB (two pages each).
  void Insert(int rows) {
    ASSERT_TRUE(SqliteExec(db_, "BEGIN").ok());
    for (int i = 0; i < rows; ++i) {
      ASSERT_TRUE(SqliteExec(db_, "INSERT INTO t(v) VALUES(randomblob(5000))").ok());
    }
    ASSERT_TRUE(SqliteExec(db_, "COMMIT").ok());
  }
  std::filesystem::path dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Checkpointer> checkpointer_;
};

TEST_F(CheckpointerTest, CommitsPastTheThresholdAreCheckpointedByTheThread) {
  auto c = Checkpointer::Start(path_, db_, 50);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  checkpointer_ = std::move(*c);
  Insert(5);  // below the threshold: nothing to do
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(checkpointer_->background_checkpoints(), 0);
  for (int i = 0; i < 10; ++i) Insert(5);  // the WAL passes 50 pages
  int64_t until = MonotonicMs() + 5000;
  while (checkpointer_->background_checkpoints() == 0 && MonotonicMs() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(checkpointer_->background_checkpoints(), 1);
  EXPECT_EQ(checkpointer_->inline_checkpoints(), 0) << "the committing thread never checkpointed";
}

TEST_F(CheckpointerTest, AWalFarPastTheThresholdIsCheckpointedInline) {
  auto c = Checkpointer::Start(path_, db_, 10);
  ASSERT_TRUE(c.ok());
  checkpointer_ = std::move(*c);
  Insert(Checkpointer::kInlineFactor * 10);  // one commit leaves the WAL past 8x
  EXPECT_EQ(checkpointer_->inline_checkpoints(), 1);
}

TEST_F(CheckpointerTest, StoppingLeavesEveryCommitReadable) {
  auto c = Checkpointer::Start(path_, db_, 20);
  ASSERT_TRUE(c.ok());
  checkpointer_ = std::move(*c);
  for (int i = 0; i < 30; ++i) Insert(5);
  checkpointer_.reset();
  sqlite3_close_v2(db_);
  db_ = nullptr;
  sqlite3* again = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &again), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(again, "SELECT COUNT(*) FROM t", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 150);
  sqlite3_finalize(st);
  sqlite3_close_v2(again);
}

TEST_F(CheckpointerTest, ADatabaseThatCannotBeOpenedIsAnError) {
  auto c = Checkpointer::Start((dir_ / "missing" / "db").string(), db_, 50);
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace rv::sauron
