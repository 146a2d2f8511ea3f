#include "sauron/sqlite_txn.h"

#include <utility>

#include "sauron/sqlite_exec.h"

namespace rv::sauron {

SqliteTxn::SqliteTxn(sqlite3* db) : db_(db) {
  status_ = SqliteExec(db_, "BEGIN IMMEDIATE");
  open_ = status_.ok();
}

SqliteTxn::~SqliteTxn() {
  if (open_) (void)SqliteExec(db_, "ROLLBACK");
}

Status SqliteTxn::Commit() {
  if (!open_) return status_.ok() ? Status::Internal("transaction already ended") : status_;
  Status s = SqliteExec(db_, "COMMIT");
  if (!s.ok()) {
    // SQLite keeps the transaction open after a failed COMMIT.
    if (!sqlite3_get_autocommit(db_)) (void)SqliteExec(db_, "ROLLBACK");
  }
  open_ = false;
  return s;
}

SqliteSavepoint::SqliteSavepoint(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {
  status_ = SqliteExec(db_, ("SAVEPOINT " + name_).c_str());
  open_ = status_.ok();
}

SqliteSavepoint::~SqliteSavepoint() {
  if (open_) Undo();
}

void SqliteSavepoint::Undo() {
  (void)SqliteExec(db_, ("ROLLBACK TO " + name_).c_str());
  (void)SqliteExec(db_, ("RELEASE " + name_).c_str());
  open_ = false;
}

Status SqliteSavepoint::Release() {
  if (!open_) return status_.ok() ? Status::Internal("savepoint already ended") : status_;
  Status s = SqliteExec(db_, ("RELEASE " + name_).c_str());
  if (!s.ok()) {
    Undo();
    return s;
  }
  open_ = false;
  return s;
}

}  // namespace rv::sauron
