#include "sauron/sqlite_txn.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "sauron/sqlite_exec.h"

namespace rv::sauron {
namespace {

class SqliteTxnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(SqliteExec(db_, "PRAGMA foreign_keys = ON;"
                                "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                                "CREATE TABLE t (v INTEGER, p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);")
                    .ok());
  }
  void TearDown() override { sqlite3_close(db_); }

  int64_t Rows() {
    SqliteStatement q(db_, "SELECT COUNT(*) FROM t");
    EXPECT_EQ(q.Step(), SQLITE_ROW);
    return q.ColInt(0);
  }
  bool InTransaction() { return sqlite3_get_autocommit(db_) == 0; }
  void Insert(int v) { ASSERT_TRUE(SqliteExec(db_, ("INSERT INTO t (v) VALUES (" + std::to_string(v) + ")").c_str()).ok()); }

  sqlite3* db_ = nullptr;
};

TEST_F(SqliteTxnTest, ACommittedTransactionKeepsItsWrites) {
  {
    SqliteTxn txn(db_);
    ASSERT_TRUE(txn.status().ok());
    Insert(1);
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(Rows(), 1);
  EXPECT_FALSE(InTransaction());
}

TEST_F(SqliteTxnTest, LeavingWithoutCommitRollsBack) {
  {
    SqliteTxn txn(db_);
    Insert(1);
  }
  EXPECT_EQ(Rows(), 0);
  EXPECT_FALSE(InTransaction());
}

TEST_F(SqliteTxnTest, AnExceptionThrownInsideRollsBackAndLeavesNoTransactionOpen) {
  try {
    SqliteTxn txn(db_);
    Insert(1);
    throw std::runtime_error("a handler's bug");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(Rows(), 0);
  EXPECT_FALSE(InTransaction());
  SqliteTxn next(db_);  // the connection takes the next request's transaction
  EXPECT_TRUE(next.status().ok());
}

TEST_F(SqliteTxnTest, ACommitThatFailsRollsBackInsteadOfLeavingTheTransactionOpen) {
  SqliteTxn txn(db_);
  ASSERT_TRUE(SqliteExec(db_, "INSERT INTO t (v, p) VALUES (1, 42)").ok());  // no parent 42: fails at COMMIT
  Status s = txn.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(InTransaction());
  EXPECT_EQ(Rows(), 0);
}

TEST_F(SqliteTxnTest, ABeginThatFailsIsReportedAndUndoesNothingOfTheOuterTransaction) {
  ASSERT_TRUE(SqliteExec(db_, "BEGIN").ok());
  Insert(1);
  {
    SqliteTxn inner(db_);  // BEGIN inside BEGIN is an error
    EXPECT_FALSE(inner.status().ok());
    EXPECT_FALSE(inner.Commit().ok());
  }
  EXPECT_TRUE(InTransaction());
  ASSERT_TRUE(SqliteExec(db_, "COMMIT").ok());
  EXPECT_EQ(Rows(), 1);
}

TEST_F(SqliteTxnTest, ASavepointLeftByAnExceptionUndoesOnlyItsOwnWrites) {
  SqliteTxn outer(db_);
  Insert(1);
  try {
    SqliteSavepoint sp(db_, "part");
    ASSERT_TRUE(sp.status().ok());
    Insert(2);
    throw std::runtime_error("a handler's bug");
  } catch (const std::runtime_error&) {
  }
  ASSERT_TRUE(outer.Commit().ok());
  EXPECT_EQ(Rows(), 1);
}

TEST_F(SqliteTxnTest, AReleasedSavepointKeepsItsWritesInTheOuterTransaction) {
  SqliteTxn outer(db_);
  {
    SqliteSavepoint sp(db_, "part");
    Insert(2);
    ASSERT_TRUE(sp.Release().ok());
  }
  ASSERT_TRUE(outer.Commit().ok());
  EXPECT_EQ(Rows(), 1);
}

TEST_F(SqliteTxnTest, AnOutermostSavepointWhoseReleaseFailsRollsBack) {
  {
    SqliteSavepoint sp(db_, "alone");  // outermost: RELEASE commits
    ASSERT_TRUE(SqliteExec(db_, "INSERT INTO t (v, p) VALUES (1, 42)").ok());
    EXPECT_FALSE(sp.Release().ok());
  }
  EXPECT_FALSE(InTransaction());
  EXPECT_EQ(Rows(), 0);
}

}  // namespace
}  // namespace rv::sauron
