// SqliteTxn and SqliteSavepoint: a write transaction (BEGIN IMMEDIATE ...
// COMMIT) and a nested one (SAVEPOINT ... RELEASE) on one connection, undone
// by their destructors unless committed.
//
// Contract:
//  * Leaving the scope without Commit()/Release() — an early return or an
//    exception a handler throws — rolls back, so no transaction is left open
//    on the connection for the next request to write into.
//  * A Commit() or Release() that fails rolls back too (a failed COMMIT
//    leaves SQLite's transaction open, e.g. on a deferred constraint), and
//    returns the failure.
//  * status() is BEGIN's (or SAVEPOINT's) result; when it is not Ok the guard
//    does nothing more, and the caller returns it.
// Not thread-safe, like the connection it is given.
#pragma once

#include <sqlite3.h>

#include <string>

#include "common/status.h"

namespace rv::sauron {

class SqliteTxn {
 public:
  explicit SqliteTxn(sqlite3* db);
  ~SqliteTxn();
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;

  const Status& status() const { return status_; }
  Status Commit();

 private:
  sqlite3* db_;
  Status status_;
  bool open_ = false;
};

class SqliteSavepoint {
 public:
  // `name` is an SQL identifier chosen by the caller, never input.
  SqliteSavepoint(sqlite3* db, std::string name);
  ~SqliteSavepoint();
  SqliteSavepoint(const SqliteSavepoint&) = delete;
  SqliteSavepoint& operator=(const SqliteSavepoint&) = delete;

  const Status& status() const { return status_; }
  Status Release();

 private:
  void Undo();

  sqlite3* db_;
  std::string name_;
  Status status_;
  bool open_ = false;
};

}  // namespace rv::sauron
